// A JSON Schema that refers to itself without descending into the answer (`{"$ref":"#"}`,
// `{"allOf":[{"$ref":"#/$defs/a"}], "$defs":{"a":{"$ref":"#"}}}`) sends a validator round in
// circles on the same value until the stack is gone: found here, before anything is sent.
// Recursion through properties or items (a tree of nodes) descends into the answer and ends; it is
// allowed. Pure: the parsed schema in, the first loop found (as JSON pointers) out.

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keywords whose subschemas apply to the same value as their parent (no descent). */
const SAME_VALUE_ONE = ['not', 'if', 'then', 'else'] as const;
const SAME_VALUE_MANY = ['allOf', 'anyOf', 'oneOf'] as const;
const SAME_VALUE_MAP = ['dependentSchemas'] as const;
/** Keywords whose subschemas apply to parts of the value (descent). */
const DESCEND_ONE = [
  'items',
  'additionalItems',
  'contains',
  'additionalProperties',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
];
const DESCEND_MANY = ['prefixItems', 'items'];
const DESCEND_MAP = ['properties', 'patternProperties', '$defs', 'definitions'];

/** The schema a local `#/a/b` pointer names, or undefined (a remote or unresolvable ref). */
function resolvePointer(root: Node, ref: string): Node | undefined {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let at: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(at)) at = at[Number(key)];
    else if (isNode(at)) at = at[key];
    else return undefined;
  }
  return isNode(at) ? at : undefined;
}

/** Every subschema in the document, with its pointer. Iterative: a deep schema cannot overflow here. */
function allSchemas(root: Node): Map<Node, string> {
  const seen = new Map<Node, string>();
  const stack: [Node, string][] = [[root, '#']];
  while (stack.length) {
    const [node, path] = stack.pop() as [Node, string];
    if (seen.has(node)) continue;
    seen.set(node, path);
    const push = (v: unknown, p: string) => {
      if (isNode(v)) stack.push([v, p]);
    };
    for (const k of [...SAME_VALUE_ONE, ...DESCEND_ONE]) push(node[k], `${path}/${k}`);
    for (const k of [...SAME_VALUE_MANY, ...DESCEND_MANY]) {
      const list = node[k];
      if (Array.isArray(list)) list.forEach((v, i) => push(v, `${path}/${k}/${i}`));
    }
    for (const k of [...SAME_VALUE_MAP, ...DESCEND_MAP]) {
      const map = node[k];
      if (isNode(map)) for (const [name, v] of Object.entries(map)) push(v, `${path}/${k}/${name}`);
    }
  }
  return seen;
}

/** The subschemas that apply to the same value as `node`: its local $ref and its same-value keywords. */
function sameValueEdges(root: Node, node: Node): Node[] {
  const out: Node[] = [];
  for (const k of ['$ref', '$dynamicRef', '$recursiveRef']) {
    const ref = node[k];
    if (typeof ref === 'string') {
      const target = resolvePointer(root, ref);
      if (target) out.push(target);
    }
  }
  for (const k of SAME_VALUE_ONE) if (isNode(node[k])) out.push(node[k] as Node);
  for (const k of SAME_VALUE_MANY) {
    const list = node[k];
    if (Array.isArray(list)) for (const v of list) if (isNode(v)) out.push(v);
  }
  for (const k of SAME_VALUE_MAP) {
    const map = node[k];
    if (isNode(map)) for (const v of Object.values(map)) if (isNode(v)) out.push(v);
  }
  return out;
}

/**
 * The first loop of subschemas that apply to the same value, as the pointers along it
 * (`['#', '#']` for `{"$ref":"#"}`), or null when every recursion descends into the value.
 */
export function schemaLoop(root: Node): string[] | null {
  const paths = allSchemas(root);
  const state = new Map<Node, 1 | 2>(); // 1: on the current path, 2: done
  for (const start of paths.keys()) {
    if (state.has(start)) continue;
    // Iterative depth-first search, keeping the path to report the loop.
    const stack: { node: Node; edges: Node[]; next: number }[] = [{ node: start, edges: sameValueEdges(root, start), next: 0 }];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1] as (typeof stack)[number];
      if (top.next >= top.edges.length) {
        state.set(top.node, 2);
        stack.pop();
        continue;
      }
      const to = top.edges[top.next++] as Node;
      const s = state.get(to);
      if (s === 1) {
        const from = stack.findIndex((f) => f.node === to);
        return [...stack.slice(from).map((f) => paths.get(f.node) ?? '?'), paths.get(to) ?? '?'];
      }
      if (s === undefined) {
        state.set(to, 1);
        stack.push({ node: to, edges: sameValueEdges(root, to), next: 0 });
      }
    }
  }
  return null;
}
