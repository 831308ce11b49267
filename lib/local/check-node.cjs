// Runs before `npm install` and `npm run dev`. OpenClaw needs Node >=24.16 <25 or >=26.1,
// and a wrong Node fails much later with confusing errors, so stop early with one line.
const [major, minor] = process.versions.node.split(".").map(Number);
const ok = (major === 24 && minor >= 16) || (major === 26 && minor >= 1) || major > 26;
if (!ok) {
  console.error(
    `serverless-openclaw needs Node 24.16+ (you have ${process.version}): run \`nvm install 24\` (see .nvmrc) or \`npm i -g node@24\`, then try again.`,
  );
  process.exit(1);
}
