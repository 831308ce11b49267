"use client";

import Link from "next/link";
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { RequireSession } from "@/components/auth/session";
import { ThemeToggle } from "@/components/theme-toggle";
import { authFetch } from "@/lib/client/auth";
import type { Provider } from "@/lib/contracts";
import { errorMessage } from "@/lib/errors";
import type { SettingsView } from "@/lib/services/settings";

const PROVIDERS: { value: Provider; label: string; hint: string }[] = [
  { value: "anthropic", label: "Anthropic", hint: "e.g. claude-sonnet-4-5" },
  { value: "openai", label: "OpenAI", hint: "e.g. gpt-5" },
  {
    value: "openai-compatible",
    label: "OpenAI-compatible",
    hint: "any server speaking /v1/chat/completions",
  },
];

async function readError(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    return body.error?.message ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

const field =
  "mt-1 block w-full rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm dark:border-zinc-700 dark:bg-zinc-900";
const labelCls = "block text-sm font-medium";
const hintCls = "mt-1 text-xs text-zinc-500";

function SettingsForm() {
  const [saved, setSaved] = useState<SettingsView>();
  const [draft, setDraft] = useState<SettingsView>();
  const [apiKey, setApiKey] = useState("");
  const [status, setStatus] = useState<{ kind: "idle" | "saving" | "saved" | "error"; message?: string }>({
    kind: "idle",
  });

  useEffect(() => {
    authFetch("/api/settings")
      .then(async (res) => {
        if (!res.ok) throw new Error(await readError(res));
        const s = (await res.json()) as SettingsView;
        setSaved(s);
        setDraft(s);
      })
      .catch((err: unknown) => setStatus({ kind: "error", message: errorMessage(err) }));
  }, []);

  const changes = useMemo(() => {
    if (!saved || !draft) return {};
    const out: Record<string, unknown> = {};
    for (const k of ["provider", "model", "idleTimeoutMinutes", "prewarm", "runTimeoutSeconds"] as const) {
      if (draft[k] !== saved[k]) out[k] = draft[k];
    }
    if ((draft.baseUrl ?? "") !== (saved.baseUrl ?? "")) out.baseUrl = draft.baseUrl ? draft.baseUrl : null;
    if (apiKey.trim()) out.apiKey = apiKey.trim();
    return out;
  }, [saved, draft, apiKey]);

  async function put(body: Record<string, unknown>) {
    setStatus({ kind: "saving" });
    const res = await authFetch("/api/settings", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) {
      setStatus({ kind: "error", message: await readError(res) });
      return;
    }
    const s = (await res.json()) as SettingsView;
    setSaved(s);
    setDraft(s);
    setApiKey("");
    setStatus({ kind: "saved", message: "Saved. A running agent picks the change up right away." });
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (Object.keys(changes).length === 0) return;
    await put(changes).catch((err: unknown) => setStatus({ kind: "error", message: errorMessage(err) }));
  }

  if (!draft) {
    return status.kind === "error" ? (
      <p role="alert" className="text-sm text-red-700 dark:text-red-400">
        Could not load the settings: {status.message}
      </p>
    ) : (
      <p className="text-sm text-zinc-500" aria-busy="true">
        Loading…
      </p>
    );
  }

  const provider = PROVIDERS.find((p) => p.value === draft.provider);
  const set = <K extends keyof SettingsView>(k: K, v: SettingsView[K]) => setDraft({ ...draft, [k]: v });

  return (
    <form onSubmit={onSubmit} className="space-y-8" data-testid="settings-form">
      <fieldset className="space-y-4">
        <legend className="text-lg font-semibold">Model</legend>
        <div>
          <label className={labelCls} htmlFor="provider">
            Provider
          </label>
          <select
            id="provider"
            data-testid="settings-provider"
            className={field}
            value={draft.provider}
            onChange={(e) => set("provider", e.target.value as Provider)}
          >
            {PROVIDERS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label className={labelCls} htmlFor="model">
            Model
          </label>
          <input
            id="model"
            data-testid="settings-model"
            className={field}
            value={draft.model}
            required
            maxLength={200}
            onChange={(e) => set("model", e.target.value)}
            aria-describedby="model-hint"
          />
          <p id="model-hint" className={hintCls}>
            {provider?.hint}
          </p>
        </div>
        <div>
          <label className={labelCls} htmlFor="baseUrl">
            Base URL {draft.provider === "openai-compatible" ? "" : "(optional)"}
          </label>
          <input
            id="baseUrl"
            data-testid="settings-base-url"
            className={field}
            type="url"
            value={draft.baseUrl ?? ""}
            required={draft.provider === "openai-compatible"}
            placeholder="https://api.example.com/v1"
            onChange={(e) => set("baseUrl", e.target.value || undefined)}
          />
        </div>
        <div>
          <label className={labelCls} htmlFor="apiKey">
            API key
          </label>
          <input
            id="apiKey"
            data-testid="settings-api-key"
            className={field}
            type="password"
            autoComplete="off"
            value={apiKey}
            placeholder={draft.hasApiKey ? "A key is stored. Type a new one to replace it." : "No key stored"}
            onChange={(e) => setApiKey(e.target.value)}
            aria-describedby="key-hint"
          />
          <p id="key-hint" className={hintCls}>
            Stored encrypted and only ever given to your agent; it is never shown again.{" "}
            <span data-testid="settings-has-key">
              {draft.hasApiKey ? "A key is stored." : "No key stored."}
            </span>
          </p>
          {draft.hasApiKey ? (
            <button
              type="button"
              className="mt-2 text-xs text-red-700 underline dark:text-red-400"
              onClick={() => put({ apiKey: null })}
              data-testid="settings-remove-key"
            >
              Remove the stored key
            </button>
          ) : null}
        </div>
      </fieldset>

      <fieldset className="space-y-4">
        <legend className="text-lg font-semibold">Agent</legend>
        <label className="flex items-start gap-3 text-sm">
          <input
            type="checkbox"
            data-testid="settings-prewarm"
            className="mt-1"
            checked={draft.prewarm}
            onChange={(e) => set("prewarm", e.target.checked)}
          />
          <span>
            <span className="font-medium">Wake the agent when I open the chat</span>
            <span className="block text-xs text-zinc-500">
              A cold start then often finishes before you have typed your first message. Turn off to start it
              only when you send.
            </span>
          </span>
        </label>
        <div className="grid gap-4 sm:grid-cols-2">
          <div>
            <label className={labelCls} htmlFor="idle">
              Sleep after idle (minutes)
            </label>
            <input
              id="idle"
              data-testid="settings-idle"
              className={field}
              type="number"
              min={1}
              max={240}
              value={draft.idleTimeoutMinutes}
              onChange={(e) => set("idleTimeoutMinutes", Number(e.target.value))}
            />
          </div>
          <div>
            <label className={labelCls} htmlFor="runTimeout">
              Longest run (seconds)
            </label>
            <input
              id="runTimeout"
              data-testid="settings-run-timeout"
              className={field}
              type="number"
              min={10}
              max={3600}
              value={draft.runTimeoutSeconds}
              onChange={(e) => set("runTimeoutSeconds", Number(e.target.value))}
            />
          </div>
        </div>
      </fieldset>

      <div className="flex items-center gap-3">
        <button
          type="submit"
          data-testid="settings-save"
          disabled={status.kind === "saving" || Object.keys(changes).length === 0}
          className="rounded-md bg-zinc-900 px-4 py-2 text-sm font-medium text-white disabled:opacity-40 dark:bg-zinc-100 dark:text-zinc-900"
        >
          {status.kind === "saving" ? "Saving…" : "Save"}
        </button>
        {status.kind === "saved" ? (
          <p
            role="status"
            className="text-sm text-emerald-700 dark:text-emerald-400"
            data-testid="settings-saved"
          >
            {status.message}
          </p>
        ) : null}
        {status.kind === "error" ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400" data-testid="settings-error">
            {status.message}
          </p>
        ) : null}
      </div>
    </form>
  );
}

/** The settings page: LLM provider, model, key (write-only), idle timeout, pre-warm, run timeout. */
export function SettingsPage() {
  return (
    <RequireSession>
      {() => (
        <main className="mx-auto max-w-xl p-6">
          <header className="mb-6 flex items-center gap-3">
            <Link href="/" className="text-sm underline" data-testid="back-to-chat">
              ← Chat
            </Link>
            <h1 className="flex-1 text-2xl font-semibold">Settings</h1>
            <ThemeToggle />
          </header>
          <SettingsForm />
        </main>
      )}
    </RequireSession>
  );
}
