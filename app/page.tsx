export default function Home() {
  return (
    <main className="mx-auto max-w-2xl p-8">
      <h1 className="text-2xl font-semibold">serverless-openclaw</h1>
    </main>
  );
}
