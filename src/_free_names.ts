/**
 * Finds the names an inline function uses from its surrounding scope, so that
 * sending a closure to a worker fails at the call instead of deep inside the
 * worker. The function's source (Deno has already stripped TypeScript types)
 * is parsed by acorn the way the worker compiles it (`compileSource` in
 * `_worker.ts`): as a parenthesized expression, or else as the one member of
 * an object literal (method shorthand), in strict mode. A scope walk over the
 * ESTree AST then resolves each name it references.
 *
 * acorn is pinned (an exact `npm:` version, no import map) so that the
 * package resolves the same from JSR, from a plain http:// URL and locally.
 *
 * @module
 */

import {
  type AnyNode,
  type Function as FunctionNode,
  type Options,
  parse,
  type Pattern,
  type Program,
} from "npm:acorn@8.19.0";

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

/** How the worker wraps a source before compiling it, tried in this order. */
const WRAPPERS: readonly (readonly [open: string, close: string])[] = [["(", ")"], ["({ ", " })"]];

/** The worker compiles with "use strict". */
const OPTIONS: Options = { ecmaVersion: "latest", sourceType: "script", strict: true };

/** One lexical scope of the walk. `this` and `arguments` are names of the scopes that bind them. */
interface Scope {
  readonly parent: Scope | undefined;
  readonly names: Set<string>;
  /** Whether `var` declarations land here: a function body, a static block, a field initializer. */
  readonly hoists: boolean;
  /** Every reference of the walk, shared by all its scopes; resolved once all names are declared. */
  readonly references: Reference[];
}

interface Reference {
  readonly name: string;
  readonly scope: Scope;
  /** `typeof name`, which is `"undefined"` rather than an error when nothing declares it. */
  readonly typeofOnly: boolean;
}

/**
 * Returns the names that `source` (a function's source text) uses without
 * declaring them and that are not globals of the main thread or of a worker,
 * in order of first use. A name used only as `typeof name` does not count.
 * Throws a `SyntaxError` (with a line and column in `source`) when the
 * source parses neither as an expression nor as a method.
 */
export function freeNames(source: string): string[] {
  const root: Scope = { parent: undefined, names: new Set(), hoists: true, references: [] };
  visit(parseLikeWorker(source), root);
  const free = new Set<string>();
  for (const { name, scope, typeofOnly } of root.references) {
    if (typeofOnly || free.has(name) || isDeclared(name, scope)) continue;
    if (!WORKER_GLOBALS.has(name) && !(name in globalThis)) free.add(name);
  }
  return [...free];
}

function parseLikeWorker(source: string): Program {
  let failure: { error: SyntaxError; at: number } | undefined;
  for (const [open, close] of WRAPPERS) {
    try {
      return parse(open + source + close, OPTIONS);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      // Report the attempt that got further into the source.
      const at = ((error as SyntaxError & { pos?: number }).pos ?? 0) - open.length;
      if (failure === undefined || at > failure.at) failure = { error, at };
    }
  }
  const { error, at } = failure!;
  const reason = error.message.replace(/ \(\d+:\d+\)$/, "");
  throw new SyntaxError(`${reason} ${position(source, at)}`, { cause: error });
}

/** A 1-based line and column of offset `at` in `source`. */
function position(source: string, at: number): string {
  if (at >= source.length) return "at the end of the source";
  const before = source.slice(0, Math.max(at, 0)).split("\n");
  return `at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

function isDeclared(name: string, scope: Scope): boolean {
  for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
    if (s.names.has(name)) return true;
  }
  return false;
}

function childScope(parent: Scope, hoists = false): Scope {
  return { parent, names: new Set(), hoists, references: parent.references };
}

function hoistScope(scope: Scope): Scope {
  let s = scope;
  while (!s.hoists && s.parent !== undefined) s = s.parent;
  return s;
}

function declare(scope: Scope, names: Iterable<string>): void {
  for (const name of names) scope.names.add(name);
}

/** Records the references in `node`, and its declarations in the scopes they belong to. */
function visit(node: AnyNode, scope: Scope): void {
  switch (node.type) {
    case "Identifier":
      scope.references.push({ name: node.name, scope, typeofOnly: false });
      return;
    case "ThisExpression":
      scope.references.push({ name: "this", scope, typeofOnly: false });
      return;
    case "UnaryExpression":
      if (node.operator === "typeof" && node.argument.type === "Identifier") {
        scope.references.push({ name: node.argument.name, scope, typeofOnly: true });
        return;
      }
      break;
    case "VariableDeclaration": {
      const target = node.kind === "var" ? hoistScope(scope) : scope;
      for (const declarator of node.declarations) {
        declare(target, bindings(declarator.id, scope));
        if (declarator.init) visit(declarator.init, scope);
      }
      return;
    }
    case "FunctionDeclaration":
      if (node.id) scope.names.add(node.id.name);
      visitFunction(node, scope);
      return;
    case "FunctionExpression":
    case "ArrowFunctionExpression":
      visitFunction(node, scope);
      return;
    case "ClassDeclaration":
    case "ClassExpression": {
      if (node.type === "ClassDeclaration" && node.id) scope.names.add(node.id.name);
      if (node.superClass) visit(node.superClass, scope);
      const inner = childScope(scope);
      if (node.id) inner.names.add(node.id.name);
      visit(node.body, inner);
      return;
    }
    case "PropertyDefinition":
      if (node.computed) visit(node.key, scope);
      if (node.value) visit(node.value, thisScope(scope));
      return;
    case "StaticBlock":
      visitAll(node.body, thisScope(scope));
      return;
    case "BlockStatement":
      visitAll(node.body, childScope(scope));
      return;
    case "ForStatement":
    case "ForInStatement":
    case "ForOfStatement":
      visitChildren(node, childScope(scope));
      return;
    case "SwitchStatement": {
      visit(node.discriminant, scope);
      visitAll(node.cases, childScope(scope));
      return;
    }
    case "CatchClause": {
      const inner = childScope(scope);
      if (node.param) declare(inner, bindings(node.param, inner));
      visit(node.body, inner);
      return;
    }
    case "LabeledStatement":
      visit(node.body, scope);
      return;
    case "BreakStatement":
    case "ContinueStatement":
    case "MetaProperty":
      return;
  }
  visitChildren(node, scope);
}

function visitAll(nodes: readonly AnyNode[], scope: Scope): void {
  for (const node of nodes) visit(node, scope);
}

/**
 * Visits the child nodes of any node without a rule of its own. Property
 * keys (`a.b`, `{ b: 1 }`, `class { b() {} }`) are names only when computed.
 */
function visitChildren(node: AnyNode, scope: Scope): void {
  const computed = "computed" in node && node.computed;
  for (const [key, value] of Object.entries(node)) {
    if (!computed && (key === "key" || key === "property")) continue;
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) visit(item, scope);
    } else if (isNode(value)) {
      visit(value, scope);
    }
  }
}

function isNode(value: unknown): value is AnyNode {
  return value !== null && typeof value === "object" &&
    typeof (value as { type?: unknown }).type === "string";
}

/** A scope where `this` is the instance or the class: a field initializer or a static block. */
function thisScope(scope: Scope): Scope {
  const inner = childScope(scope, true);
  inner.names.add("this");
  return inner;
}

function visitFunction(node: FunctionNode, scope: Scope): void {
  const params = childScope(scope);
  if (node.type !== "ArrowFunctionExpression") declare(params, ["this", "arguments"]);
  // A named function expression sees its own name (the worker compiles it as one).
  if (node.type === "FunctionExpression" && node.id) params.names.add(node.id.name);
  for (const param of node.params) declare(params, bindings(param, params));
  if (node.body.type === "BlockStatement") visitAll(node.body.body, childScope(params, true));
  else visit(node.body, params);
}

/** The names a binding pattern declares; visits its defaults and computed keys in `scope`. */
function bindings(pattern: Pattern, scope: Scope): string[] {
  switch (pattern.type) {
    case "Identifier":
      return [pattern.name];
    case "ObjectPattern":
      return pattern.properties.flatMap((property) => {
        if (property.type === "RestElement") return bindings(property.argument, scope);
        if (property.computed) visit(property.key, scope);
        return bindings(property.value, scope);
      });
    case "ArrayPattern":
      return pattern.elements.flatMap((element) => element ? bindings(element, scope) : []);
    case "RestElement":
      return bindings(pattern.argument, scope);
    case "AssignmentPattern":
      visit(pattern.right, scope);
      return bindings(pattern.left, scope);
    case "MemberExpression":
      visit(pattern, scope);
      return [];
  }
}
