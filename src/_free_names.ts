/**
 * Finds the names an inline function uses from its surrounding scope, so that
 * sending a closure to a worker fails at the call instead of deep inside the
 * worker. A small tokenizer over the function's JavaScript source (Deno has
 * already stripped TypeScript types): it over-approximates what is declared,
 * so it may miss a free name (the worker then reports the `ReferenceError`
 * with the same advice) but never rejects a self-contained function.
 *
 * @module
 */

interface Token {
  readonly kind: "name" | "punct" | "literal";
  readonly value: string;
}

const KEYWORDS = new Set(
  ("break case catch class const continue debugger default delete do else export extends " +
    "finally for function if import in instanceof new return super switch this throw try " +
    "typeof var void while with yield let static await async of get set null true false " +
    "undefined NaN Infinity arguments enum implements interface package private protected " +
    "public as from target meta")
    .split(" "),
);

/** Keywords after which a `/` starts a regular expression, not a division. */
const BEFORE_EXPRESSION = new Set(
  "return typeof case do else in of new delete void throw instanceof yield await".split(" "),
);

/** Keywords whose parenthesized head is followed by a statement (where `/` starts a regex). */
const CONTROL_HEADS = new Set(["if", "while", "for", "switch", "with"]);

/** Globals that exist in a worker but not necessarily on the main thread. */
const WORKER_GLOBALS = new Set([
  "self",
  "postMessage",
  "close",
  "onmessage",
  "onmessageerror",
  "name",
  "WorkerGlobalScope",
  "DedicatedWorkerGlobalScope",
  "WorkerNavigator",
  "WorkerLocation",
  "importScripts",
]);

const PUNCTUATORS = [
  ">>>=",
  "...",
  "===",
  "!==",
  "**=",
  "<<=",
  ">>=",
  ">>>",
  "&&=",
  "||=",
  "??=",
  "=>",
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "??",
  "?.",
  "++",
  "--",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "**",
  "<<",
  ">>",
];

function isNameStart(ch: string): boolean {
  return /[\p{L}_$#]/u.test(ch);
}

function isNamePart(ch: string): boolean {
  return /[\p{L}\p{N}_$\u200c\u200d]/u.test(ch);
}

/** Splits JavaScript source into names, punctuators and literals. */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  // Brace depth of each open template-literal substitution `${ ... }`.
  const templates: number[] = [];
  let braces = 0;
  let i = 0;
  // For each open "(": whether it starts a control head such as `if (...)`.
  const parens: boolean[] = [];
  // The ")" tokens that close a control head: a statement, maybe a regex, follows.
  const headCloses = new Set<Token>();

  const regexAllowed = (): boolean => {
    const last = tokens.at(-1);
    if (last === undefined) return true;
    if (last.kind === "literal") return false;
    if (last.kind === "name") return BEFORE_EXPRESSION.has(last.value);
    if (last.value === ")") return headCloses.has(last);
    return last.value !== "]";
  };

  const readTemplate = (): void => {
    // i points just after "`" or "}" that closes a substitution.
    while (i < source.length) {
      const ch = source[i];
      if (ch === "\\") {
        i += 2;
      } else if (ch === "`") {
        i++;
        tokens.push({ kind: "literal", value: "`" });
        return;
      } else if (ch === "$" && source[i + 1] === "{") {
        i += 2;
        templates.push(braces);
        tokens.push({ kind: "punct", value: "(" });
        return;
      } else {
        i++;
      }
    }
  };

  while (i < source.length) {
    const ch = source[i];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "/" && source[i + 1] === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (ch === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      i = end < 0 ? source.length : end + 2;
    } else if (ch === "'" || ch === '"') {
      i++;
      while (i < source.length && source[i] !== ch) i += source[i] === "\\" ? 2 : 1;
      i++;
      tokens.push({ kind: "literal", value: ch });
    } else if (ch === "`") {
      i++;
      readTemplate();
    } else if (ch === "/" && regexAllowed()) {
      let inClass = false;
      i++;
      while (i < source.length && (inClass || source[i] !== "/")) {
        if (source[i] === "\\") i++;
        else if (source[i] === "[") inClass = true;
        else if (source[i] === "]") inClass = false;
        i++;
      }
      i++;
      while (i < source.length && isNamePart(source[i])) i++;
      tokens.push({ kind: "literal", value: "/" });
    } else if (/[0-9]/.test(ch) || (ch === "." && /[0-9]/.test(source[i + 1] ?? ""))) {
      while (i < source.length && /[0-9a-zA-Z_.]/.test(source[i])) i++;
      tokens.push({ kind: "literal", value: "0" });
    } else if (isNameStart(ch) || ch === "\\") {
      const start = i++;
      while (i < source.length && isNamePart(source[i])) i++;
      tokens.push({ kind: "name", value: source.slice(start, i) });
    } else if (ch === "}" && templates.length > 0 && templates.at(-1) === braces) {
      templates.pop();
      tokens.push({ kind: "punct", value: ")" });
      i++;
      readTemplate();
    } else {
      const punct = PUNCTUATORS.find((p) => source.startsWith(p, i)) ?? ch;
      if (punct === "{") braces++;
      if (punct === "}") braces--;
      const token: Token = { kind: "punct", value: punct };
      if (punct === "(") {
        const last = tokens.at(-1);
        parens.push(last?.kind === "name" && CONTROL_HEADS.has(last.value));
      }
      if (punct === ")" && parens.pop()) headCloses.add(token);
      tokens.push(token);
      i += punct.length;
    }
  }
  return tokens;
}

/** Index of the bracket that closes the one at `open`, or the last index. */
function matching(tokens: Token[], open: number): number {
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    const v = tokens[j].kind === "punct" ? tokens[j].value : "";
    if (v === "(" || v === "[" || v === "{") depth++;
    if (v === ")" || v === "]" || v === "}") depth--;
    if (depth === 0) return j;
  }
  return tokens.length - 1;
}

function isPunct(token: Token | undefined, value: string): boolean {
  return token !== undefined && token.kind === "punct" && token.value === value;
}

/** Marks the names of parameter lists and declaration patterns as declared. */
function collectDeclared(tokens: Token[]): Set<string> {
  const declared = new Set<string>();
  const declareRange = (from: number, to: number) => {
    for (let j = from; j <= to; j++) if (tokens[j].kind === "name") declared.add(tokens[j].value);
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const next = tokens[i + 1];
    if (t.kind === "name") {
      if ((t.value === "function" || t.value === "class") && next?.kind === "name") {
        declared.add(next.value);
      } else if (t.value === "function" && isPunct(next, "*") && tokens[i + 2]?.kind === "name") {
        declared.add(tokens[i + 2].value); // function* name
      } else if (t.value === "let" || t.value === "const" || t.value === "var") {
        declareDeclarators(tokens, i + 1, declareRange);
      } else if (isPunct(next, "=>")) {
        declared.add(t.value);
      }
    } else if (t.value === "(") {
      const close = matching(tokens, i);
      const after = tokens[close + 1];
      const before = tokens[i - 1];
      const isArrow = isPunct(after, "=>");
      const isFunctionLike = isPunct(after, "{") && before?.kind === "name" &&
        !CONTROL_HEADS.has(before.value);
      if (isArrow || isFunctionLike) declareRange(i + 1, close - 1);
    }
  }
  return declared;
}

/** Declares the patterns of `let a = 1, { b, c } = o` (initializers are left as references). */
function declareDeclarators(
  tokens: Token[],
  start: number,
  declareRange: (from: number, to: number) => void,
): void {
  let i = start;
  while (i < tokens.length) {
    const t = tokens[i];
    if (t.kind === "name") {
      declareRange(i, i);
      i++;
    } else if (isPunct(t, "{") || isPunct(t, "[")) {
      const close = matching(tokens, i);
      declareRange(i, close);
      i = close + 1;
    } else {
      return;
    }
    // Skip the initializer up to a comma at this depth, which starts the next declarator.
    let depth = 0;
    while (i < tokens.length) {
      const v = tokens[i].kind === "punct" ? tokens[i].value : "";
      if (v === "(" || v === "[" || v === "{") depth++;
      else if (v === ")" || v === "]" || v === "}") {
        if (depth === 0) return;
        depth--;
      } else if (
        depth === 0 && (v === ";" || tokens[i].value === "of" || tokens[i].value === "in")
      ) {
        return;
      } else if (depth === 0 && v === ",") {
        i++;
        break;
      }
      i++;
    }
  }
}

/** Whether the name at `i` is a reference (not a property, key, label or method name). */
function isReference(tokens: Token[], i: number): boolean {
  const prev = tokens[i - 1];
  const next = tokens[i + 1];
  if (isPunct(prev, ".") || isPunct(prev, "?.")) return false;
  if (prev?.kind === "name" && (prev.value === "break" || prev.value === "continue")) {
    return false; // a label
  }
  if (
    isPunct(next, ":") && !isPunct(prev, "?") && !(prev?.kind === "name" && prev.value === "case")
  ) {
    return false;
  }
  if (isPunct(next, "(")) {
    const close = matching(tokens, i + 1);
    if (isPunct(tokens[close + 1], "{")) return false; // method definition `name(...) {`
  }
  return true;
}

/** Indices of the names that open a class member (`field = 1`, `static x;`). */
function classMemberNames(tokens: Token[]): Set<number> {
  const members = new Set<number>();
  tokens.forEach((t, i) => {
    if (t.kind !== "name" || t.value !== "class") return;
    let open = i + 1;
    while (open < tokens.length && !isPunct(tokens[open], "{")) {
      open = isPunct(tokens[open], "(") ? matching(tokens, open) + 1 : open + 1;
    }
    const close = matching(tokens, open);
    let depth = 0;
    for (let j = open; j < close; j++) {
      const v = tokens[j].kind === "punct" ? tokens[j].value : "";
      if (v === "(" || v === "[" || v === "{") depth++;
      if (v === ")" || v === "]" || v === "}") depth--;
      const prev = tokens[j - 1];
      // A name right after a value, with no operator between, starts a member
      // after an automatic semicolon: `a = 1 <newline> b = 2`.
      const afterValue = prev?.kind === "literal" || isPunct(prev, ")") || isPunct(prev, "]") ||
        (prev?.kind === "name" && !BEFORE_EXPRESSION.has(prev.value));
      const startsMember = isPunct(prev, "{") || isPunct(prev, ";") || isPunct(prev, "}") ||
        isPunct(prev, "*") || afterValue;
      if (depth === 1 && tokens[j].kind === "name" && startsMember) members.add(j);
    }
  });
  return members;
}

/**
 * Returns the names that `source` (a function's source text) uses without
 * declaring them and that are not globals of a worker.
 */
export function freeNames(source: string): string[] {
  const tokens = tokenize(source);
  const declared = collectDeclared(tokens);
  const members = classMemberNames(tokens);
  const free = new Set<string>();
  tokens.forEach((t, i) => {
    if (t.kind !== "name" || t.value.startsWith("#") || KEYWORDS.has(t.value)) return;
    if (declared.has(t.value) || WORKER_GLOBALS.has(t.value) || t.value in globalThis) return;
    if (!members.has(i) && isReference(tokens, i)) free.add(t.value);
  });
  return [...free];
}
