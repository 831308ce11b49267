"use client";

import { useEffect, useState } from "react";

type Theme = "light" | "dark";

/**
 * Runs before the page paints (inlined in the root layout), so a dark-mode user never sees
 * a white flash: the saved choice, else the system preference.
 */
export const THEME_SCRIPT = `(function(){try{var t=localStorage.getItem("theme");if(t!=="light"&&t!=="dark")t=matchMedia("(prefers-color-scheme: dark)").matches?"dark":"light";document.documentElement.classList.toggle("dark",t==="dark");}catch(e){}})();`;

/** Switches between light and dark, and remembers the choice. */
export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>();
  useEffect(() => {
    setTheme(document.documentElement.classList.contains("dark") ? "dark" : "light");
  }, []);
  const next: Theme = theme === "dark" ? "light" : "dark";
  return (
    <button
      type="button"
      data-testid="theme-toggle"
      aria-label={`Switch to ${next} mode`}
      title={`Switch to ${next} mode`}
      className="rounded-md p-2 text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900 dark:hover:bg-zinc-800 dark:hover:text-zinc-100"
      onClick={() => {
        document.documentElement.classList.toggle("dark", next === "dark");
        try {
          localStorage.setItem("theme", next);
        } catch {
          // Private mode: the choice lasts for this page only.
        }
        setTheme(next);
      }}
    >
      <svg aria-hidden viewBox="0 0 20 20" className="size-5" fill="currentColor">
        {theme === "dark" ? (
          <path d="M10 3a1 1 0 0 1 1 1v1a1 1 0 1 1-2 0V4a1 1 0 0 1 1-1Zm0 4a3 3 0 1 1 0 6 3 3 0 0 1 0-6Zm6 2a1 1 0 1 1 0 2h-1a1 1 0 1 1 0-2h1ZM5 10a1 1 0 0 1-1 1H3a1 1 0 1 1 0-2h1a1 1 0 0 1 1 1Zm5 5a1 1 0 0 1 1 1v1a1 1 0 1 1-2 0v-1a1 1 0 0 1 1-1Z" />
        ) : (
          <path d="M15.3 12.7A6 6 0 0 1 7.3 4.7 6 6 0 1 0 15.3 12.7Z" />
        )}
      </svg>
    </button>
  );
}
