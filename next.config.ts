import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // The realtime client and the Telegram webhook run on Node APIs; keep the server lean.
  poweredByHeader: false,
  reactStrictMode: true,
  // Local-cloud packages are dev-only and must never be bundled into the deployed server.
  serverExternalPackages: ["dynalite", "cognito-local"],
  typedRoutes: false,
  // The browser tests build into their own folder (`.next/e2e`), so a test run never
  // clobbers the build or the dev server of someone working in the same checkout.
  ...(process.env.NEXT_DIST_DIR ? { distDir: process.env.NEXT_DIST_DIR } : {}),
  // CI type-checks the whole repository in its own step (`tsc`); the browser tests' build
  // skips it so that they test behaviour and do not fail on a type error in a test file.
  typescript: { ignoreBuildErrors: process.env.NEXT_SKIP_TYPECHECK === "1" },
};

export default nextConfig;
