import { describe, expect, it } from "vitest";
import { z } from "zod";
import { fieldCases, OMIT, withField } from "./zod-cases";

const table = (cases: ReturnType<typeof fieldCases>) => cases.map((c) => [c.name, c.accepted] as const);

describe("fieldCases", () => {
  it("finds a string's length bounds, through a transform, and a disallowed character", () => {
    const schema = z.object({
      title: z
        .string()
        .transform((s) => s.trim())
        .pipe(z.string().min(2).max(5)),
      id: z.string().regex(/^[a-z]{1,3}$/),
    });
    expect(table(fieldCases(schema, "params"))).toEqual([
      ["title: missing", false],
      ["title: 2 characters of x (the shortest the schema accepts)", true],
      ["title: 1 character of x (one below the shortest)", false],
      ["title: 5 characters of x (the longest the schema accepts)", true],
      ["title: 6 characters of x (one past the longest)", false],
      ["id: missing", false],
      ["id: 1 character of x (the shortest the schema accepts)", true],
      ["id: 0 characters of x (one below the shortest)", false],
      ["id: 3 characters of x (the longest the schema accepts)", true],
      ["id: 4 characters of x (one past the longest)", false],
      ['id: contains " "', false],
    ]);
  });

  it("gives a body wrong types, number bounds and an unknown key by strictness", () => {
    const schema = z.object({ n: z.number().int().min(1).max(9).optional(), on: z.boolean() }).strict();
    const cases = fieldCases(schema, "body");
    expect(table(cases)).toEqual([
      ["n: a string", false],
      ["n: true", false],
      ["n: null", false],
      ["n: an object", false],
      ["n: an array", false],
      ["n: 1 (the minimum)", true],
      ["n: 0 (below the minimum)", false],
      ["n: 9 (the maximum)", true],
      ["n: 10 (above the maximum)", false],
      ["n: 1.5 (not an integer)", false],
      ["on: missing", false],
      ["on: a string", false],
      ["on: null", false],
      ["on: an object", false],
      ["on: an array", false],
      ["an unknown field", false],
    ]);
    expect(fieldCases(schema.strip(), "body").at(-1)).toMatchObject({
      name: "an unknown field",
      accepted: true,
    });
  });

  it("gives a query's coerced numbers as strings, and accepts what is nullable", () => {
    const query = z.object({ limit: z.coerce.number().int().min(1).max(3).optional() });
    expect(fieldCases(query, "query").map((c) => c.value)).toEqual(["1", "0", "3", "4", "1.5", "ten", "x"]);
    const nullable = z.object({ key: z.string().min(1).nullable() });
    expect(fieldCases(nullable, "body").find((c) => c.name === "key: null")?.accepted).toBe(true);
  });
});

describe("withField", () => {
  it("sets or removes one field, leaving the input as it was", () => {
    const input = { a: 1, b: 2 };
    expect(withField(input, "a", 3)).toEqual({ a: 3, b: 2 });
    expect(withField(input, "a", OMIT)).toEqual({ b: 2 });
    expect(input).toEqual({ a: 1, b: 2 });
  });
});
