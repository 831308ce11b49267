import type { Metadata } from "next";
import { SettingsPage } from "@/components/settings/settings-form";

export const metadata: Metadata = { title: "Settings · OpenClaw" };

export default function Settings() {
  return <SettingsPage />;
}
