import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // The realtime client and the Telegram webhook run on Node APIs; keep the server lean.
  poweredByHeader: false,
  reactStrictMode: true,
  // Local-cloud packages are dev-only and must never be bundled into the deployed server.
  serverExternalPackages: ["dynalite", "cognito-local"],
  typedRoutes: false,
};

export default nextConfig;
