import type { z } from "zod";

/*
 * Bad (and boundary) values for each field of a zod object schema, for the bad-input
 * suite. The values are proposed from the field's kind (string lengths, number bounds,
 * wrong types, a missing required field, an unknown key) and the field's own schema says
 * which of them it accepts, so a route's refusals can be checked against the schema the
 * route was built with. Cross-field rules and service-level limits are not modelled here:
 * the suite adds those as cases of their own.
 */

/** Where the value goes: a JSON body, the query string (strings only), or a path segment. */
export type Location = "body" | "query" | "params";

/** Deletes the field instead of setting it. */
export const OMIT: unique symbol = Symbol("omit");

export interface FieldCase {
  /** `title: 121 characters (one past the longest accepted)` */
  name: string;
  field: string;
  value: unknown;
  /** Whether the field's schema accepts the value (the whole input then passes validation). */
  accepted: boolean;
}

type AnySchema = z.ZodType;
interface Def {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  out?: AnySchema;
  shape?: Record<string, AnySchema>;
  catchall?: AnySchema;
  entries?: Record<string, string | number>;
  coerce?: boolean;
}
const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schemas a field's value passes through (optional, nullable, default and pipes unwrapped). */
function cores(schema: AnySchema): AnySchema[] {
  const d = defOf(schema);
  if (d.innerType && ["optional", "nullable", "default", "prefault", "readonly", "catch"].includes(d.type))
    return cores(d.innerType);
  if (d.type === "pipe" && d.in && d.out) return [...cores(d.in), ...cores(d.out)];
  return [schema];
}

function kindOf(schema: AnySchema): "string" | "number" | "boolean" | "enum" | "other" {
  for (const c of cores(schema)) {
    const t = defOf(c).type;
    if (t === "string" || t === "number" || t === "boolean" || t === "enum") return t;
  }
  return "other";
}

/** The most restrictive bounds the string schemas along the field declare (a hint for the probe). */
function declaredMaxLength(schema: AnySchema): number | undefined {
  const maxes = cores(schema)
    .map((c) => (c as unknown as { maxLength?: number | null }).maxLength)
    .filter((m): m is number => typeof m === "number");
  return maxes.length ? Math.min(...maxes) : undefined;
}

function numberBounds(schema: AnySchema): { min?: number; max?: number; int: boolean; coerce: boolean } {
  for (const c of cores(schema)) {
    if (defOf(c).type !== "number") continue;
    const n = c as unknown as { minValue: number | null; maxValue: number | null; isInt: boolean };
    const finite = (v: number | null) => (v !== null && Number.isFinite(v) ? v : undefined);
    return {
      min: finite(n.minValue),
      max: finite(n.maxValue),
      int: n.isInt,
      coerce: defOf(c).coerce === true,
    };
  }
  return { int: false, coerce: false };
}

const accepts = (schema: AnySchema, value: unknown) =>
  schema.safeParse(value === OMIT ? undefined : value).success;

/** String makers tried in order: the first one the schema accepts at some length is used. */
const MAKERS: { label: string; make: (len: number) => string }[] = [
  { label: "x", make: (len) => "x".repeat(len) },
  { label: "a", make: (len) => "a".repeat(len) },
  { label: "0", make: (len) => "0".repeat(len) },
  { label: "URL", make: (len) => `https://example.com/${"x".repeat(Math.max(0, len - 20))}`.slice(0, len) },
];

/** Characters tried, one at a time, in the middle of an accepted value. */
const ODD_CHARACTERS = [" ", "!", "A", "/", "é", "\u0000"];

function stringCases(field: string, schema: AnySchema): Omit<FieldCase, "accepted">[] {
  const probeTo = Math.max(4_096, (declaredMaxLength(schema) ?? 0) + 1);
  const out: Omit<FieldCase, "accepted">[] = [];
  for (const { label, make } of MAKERS) {
    const accepted: number[] = [];
    for (let len = 0; len <= probeTo; len++) if (accepts(schema, make(len))) accepted.push(len);
    if (accepted.length === 0) continue;
    const lo = accepted[0] as number;
    const hi = accepted[accepted.length - 1] as number;
    const chars = (n: number) => `${n} character${n === 1 ? "" : "s"} of ${label}`;
    if (lo > 0) {
      out.push({ name: `${field}: ${chars(lo)} (the shortest the schema accepts)`, field, value: make(lo) });
      out.push({ name: `${field}: ${chars(lo - 1)} (one below the shortest)`, field, value: make(lo - 1) });
    }
    if (hi < probeTo) {
      if (hi !== lo)
        out.push({ name: `${field}: ${chars(hi)} (the longest the schema accepts)`, field, value: make(hi) });
      out.push({ name: `${field}: ${chars(hi + 1)} (one past the longest)`, field, value: make(hi + 1) });
    }
    const base = make(Math.max(lo, 3));
    const mid = Math.floor(base.length / 2);
    for (const ch of ODD_CHARACTERS) {
      const value = base.slice(0, mid) + ch + base.slice(mid + 1);
      if (!accepts(schema, value)) {
        out.push({ name: `${field}: contains ${JSON.stringify(ch)}`, field, value });
        break;
      }
    }
    break;
  }
  return out;
}

function numberCases(field: string, schema: AnySchema, asString: boolean): Omit<FieldCase, "accepted">[] {
  const { min, max, int } = numberBounds(schema);
  const v = (n: number) => (asString ? String(n) : n);
  const out: Omit<FieldCase, "accepted">[] = [];
  const step = int ? 1 : 0.001;
  if (min !== undefined) {
    out.push({ name: `${field}: ${min} (the minimum)`, field, value: v(min) });
    out.push({ name: `${field}: ${min - step} (below the minimum)`, field, value: v(min - step) });
  }
  if (max !== undefined) {
    out.push({ name: `${field}: ${max} (the maximum)`, field, value: v(max) });
    out.push({ name: `${field}: ${max + step} (above the maximum)`, field, value: v(max + step) });
  }
  if (int) {
    const x = (min ?? 0) + 0.5;
    out.push({ name: `${field}: ${x} (not an integer)`, field, value: v(x) });
  }
  if (asString) out.push({ name: `${field}: "ten" (not a number)`, field, value: "ten" });
  return out;
}

/** Values of the wrong JSON type for a body field. */
function typeCases(field: string, kind: ReturnType<typeof kindOf>): Omit<FieldCase, "accepted">[] {
  const wrong: [string, unknown][] = [
    kind === "string" || kind === "enum" ? ["a number", 42] : ["a string", "42"],
    ["true", true],
    ["null", null],
    ["an object", { nested: "x" }],
    ["an array", ["x"]],
  ];
  return wrong
    .filter(([label]) => !(kind === "boolean" && label === "true"))
    .map(([label, value]) => ({ name: `${field}: ${label}`, field, value }));
}

/**
 * The cases for every field of `schema`, with whether each is accepted. Query and path
 * values are strings, so they get no wrong-type cases; a body also gets an unknown key.
 */
export function fieldCases(schema: z.ZodObject, location: Location): FieldCase[] {
  const shape = defOf(schema).shape ?? {};
  const out: FieldCase[] = [];
  for (const [field, fieldSchema] of Object.entries(shape)) {
    const kind = kindOf(fieldSchema);
    const proposed: Omit<FieldCase, "accepted">[] = [];
    if (!accepts(fieldSchema, undefined)) proposed.push({ name: `${field}: missing`, field, value: OMIT });
    if (location === "body") proposed.push(...typeCases(field, kind));
    if (kind === "string") proposed.push(...stringCases(field, fieldSchema));
    if (kind === "number") proposed.push(...numberCases(field, fieldSchema, location !== "body"));
    if (kind === "enum")
      proposed.push({ name: `${field}: a value not in the enum`, field, value: "no-such-value" });
    for (const c of proposed) out.push({ ...c, accepted: accepts(fieldSchema, c.value) });
  }
  if (location !== "params") {
    const strict = defOf(schema).catchall
      ? defOf(defOf(schema).catchall as AnySchema).type === "never"
      : false;
    out.push({ name: "an unknown field", field: "unexpectedField", value: "x", accepted: !strict });
  }
  return out;
}

/** The input with one field changed (or removed). */
export function withField(
  input: Record<string, unknown>,
  field: string,
  value: unknown,
): Record<string, unknown> {
  const out = { ...input };
  if (value === OMIT) delete out[field];
  else out[field] = value;
  return out;
}
