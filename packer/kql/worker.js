'use strict';
// Long-lived KQL analysis worker for packer/kql/analyser.py.
//
// Protocol: one JSON object per line on stdin, one answer per line on stdout, same `id`.
//   {"id":0,"kind":"configure","tables":[{name, columns:[[name,type]...], open}],
//    "functions":[{name, parameters:"(a:string, ...)", body:"{ ... }"} |
//                 {name, parameters:"(...)", columns:[[name,type]...], open} |
//                 {name, parameters:"(...)", returns:"database"}]}
//   {"id":1,"kind":"analyse","query":"..."}     -> {id, diagnostics:[...], unknownTables:[...],
//                                                   tables, columns, functions, outputColumns}
//   {"id":2,"kind":"references","query":"..."}  -> {id, tables:[...], columns:{table:[...]}, unknownTables,
//                                                   functions:[...], outputColumns:[...], outputOpen}
//   {"id":3,"kind":"declare","tables":[...]}    -> {id, tables: count}: more tables, same shape as configure's.
// The Python side declares tables lazily (only those the next queries name), which keeps the
// worker's set-up small; a query's result does not depend on tables it does not name.
// One bind answers both: `analyse` carries what the query reads, so a query is analysed once.
// Any failure answers {id, error}. The Bridge.NET runtime must load before Kusto.Language.

const fs = require('fs');
const path = require('path');
const v8 = require('v8');

// `node --snapshot-blob B --build-snapshot worker.js` writes a V8 startup snapshot of this
// worker with Kusto.Language loaded and initialised (packer/kql/snapshot.py); `node
// --snapshot-blob B` then starts in a fraction of the time and memory. A snapshot's entry
// script may require() built-in modules only, so the package is read and evaluated then.
const BUILDING_SNAPSHOT = Boolean(v8.startupSnapshot && v8.startupSnapshot.isBuildingSnapshot());

function packageDir() {
  const override = process.env.SENTINEL_PACKER_NODE_MODULES;
  if (BUILDING_SNAPSHOT) return path.join(override, '@kusto', 'language-service-next');
  const paths = override ? [override] : undefined;
  return path.dirname(require.resolve('@kusto/language-service-next/package.json', paths ? { paths } : undefined));
}

function loadKusto() {
  const dir = packageDir();
  for (const file of ['bridge.min.js', 'Kusto.Language.Bridge.min.js']) {  // the runtime first
    const script = path.join(dir, file);
    if (BUILDING_SNAPSHOT) (0, eval)(fs.readFileSync(script, 'utf8'));  // global scope, as a <script>
    else require(script);
  }
  return { version: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version };
}

const loaded = loadKusto();
const K = Kusto.Language;
const S = Kusto.Language.Symbols;

const UNKNOWN_TABLE = 'KS204';

let state = null; // {dbRef, members, globals, tables:Set<TableSymbol>, assumed:Map<name, TableSymbol>}

function column(name, type) {
  const symbol = S.ScalarTypes.GetSymbol(type) || S.ScalarTypes.Dynamic;
  return new S.ColumnSymbol(name, symbol, null, null, null, null);
}

function table(name, columns, open) {
  const symbol = new S.TableSymbol.$ctor4(name, (columns || []).map(([n, t]) => column(n, t)));
  return open ? symbol.WithIsOpen(true) : symbol;
}

function functionSymbol(spec, dbRef) {
  const params = spec.parameters || '()';
  if (spec.returns === 'database') {
    // workspace('x') / app('x'): the workspace's tables are ours, so return the database itself
    return new S.FunctionSymbol.$ctor1(spec.name, () => dbRef.db, S.Tabularity.Scalar,
      S.Parameter.ParseList(params));
  }
  if (spec.body !== undefined && spec.body !== null) {
    return new S.FunctionSymbol.$ctor16(spec.name, params, spec.body, null);
  }
  const result = table('', spec.columns, spec.open !== false);
  return new S.FunctionSymbol.$ctor1(spec.name, () => result, S.Tabularity.Tabular,
    S.Parameter.ParseList(params));
}

// WithCache keeps bound function bodies and operator/signature lookups across queries: the
// same diagnostics, and about 15% less time per corpus query (GlobalState.Default has no cache).
function globalsFor(db) {
  return K.GlobalState.Default.WithDatabase(db).WithCache();
}

function configure(msg) {
  const dbRef = { db: null };
  const tables = (msg.tables || []).map((t) => table(t.name, t.columns, t.open));
  const functions = (msg.functions || []).map((f) => functionSymbol(f, dbRef));
  const members = tables.concat(functions);
  dbRef.db = new S.DatabaseSymbol.ctor(msg.database || 'sentinel', members);
  state = {
    dbRef,
    dbName: msg.database || 'sentinel',
    members,
    globals: globalsFor(dbRef.db),
    tables: new Set(tables),
    functions: new Set(functions),
    assumed: new Map(),
  };
  // the first analysis initialises Kusto's built-in function tables: pay it now, not on query 1
  K.KustoCode.ParseAndAnalyze('print 1', state.globals).GetDiagnostics();
  return { version: loaded.version, tables: tables.length, functions: functions.length };
}

// Tables the schema does not know are declared open once first seen and kept for later
// queries, so a query re-binds only when it names a table never seen before.
function assume(names) {
  for (const name of names) {
    if (!state.assumed.has(name)) state.assumed.set(name, table(name, [], true));
  }
  rebuild();
}

function rebuild() {
  state.dbRef.db = new S.DatabaseSymbol.ctor(state.dbName, state.members.concat(Array.from(state.assumed.values())));
  state.globals = globalsFor(state.dbRef.db);
}

function declare(msg) {
  const added = (msg.tables || []).map((t) => table(t.name, t.columns, t.open));
  for (const t of added) {
    state.tables.add(t);
    state.assumed.delete(t.Name);
  }
  state.members = state.members.concat(added);
  rebuild();
  return { tables: added.length };
}

// First reference of each assumed (unknown) table in the bound query.
function assumedReferences(code) {
  const found = new Map();
  if (state.assumed.size === 0) return found;
  const assumed = new Set(state.assumed.values());
  K.Syntax.SyntaxElement.WalkElements(code.Syntax, (el) => {
    const sym = el.ReferencedSymbol;
    if (sym && assumed.has(sym) && !found.has(sym.Name)) {
      found.set(sym.Name, { start: el.TextStart, length: el.Width });
    }
  }, null, null);
  return found;
}

function diagnosticsOf(code) {
  const key = (d) => `${d.Code}:${d.Start}:${d.Length}:${d.Message}`;
  const syntax = new Set();
  const syntaxList = code.GetSyntaxDiagnostics();
  for (let i = 0; i < syntaxList.Count; i++) syntax.add(key(syntaxList.getItem(i)));
  const list = code.GetDiagnostics();
  const out = [];
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    out.push({ code: d.Code, severity: d.Severity, message: d.Message, syntax: syntax.has(key(d)),
      start: d.HasLocation ? d.Start : 0, length: d.HasLocation ? d.Length : 0 });
  }
  return out;
}

// Two declarations of Kusto.Language that disagree with the service (issue 23):
// - todynamic()/toobject() declare a string parameter, but the KQL docs (and the service) take a
//   dynamic value as is: a "string expected" (KS107) on a dynamic argument of theirs is dropped.
// - columnifexists(name, default) is typed by its default, while at run time the column, when it
//   exists, keeps its own type (often dynamic): a member access on it that Kusto rejects
//   (KS142) is only a warning, with why.
const TYPE_EXPECTED = 'KS107';
const UNKNOWN_NAME = 'KS142';
const DYNAMIC_AS_IS = new Set(['todynamic', 'toobject']);

function callName(el) {
  return el.Kind === K.Syntax.SyntaxKind.FunctionCallExpression && el.ReferencedSymbol ? el.ReferencedSymbol.Name : null;
}

function isDynamic(type) {  // dynamic, and its array/bag variants, all name themselves 'dynamic'
  return !!type && type.Name === 'dynamic';
}

function relaxations(code) {
  const dynamicArgs = new Set();    // "start:length" of dynamic arguments to todynamic()/toobject()
  const columnIfExists = new Set(); // names given to a columnifexists() result
  const members = [];               // [start, end) of member names selected on columnifexists() values
  const walk = (visit) => K.Syntax.SyntaxElement.WalkElements(code.Syntax, visit, null, null);
  walk((el) => {
    const name = callName(el);
    if (DYNAMIC_AS_IS.has(name) && el.ArgumentList.Expressions.Count > 0) {
      const arg = el.ArgumentList.Expressions.getItem(0).Element;
      if (isDynamic(arg.ResultType)) dynamicArgs.add(`${arg.TextStart}:${arg.Width}`);
    }
    if (name === 'columnifexists' && el.Parent && el.Parent.Kind === K.Syntax.SyntaxKind.SimpleNamedExpression) {
      columnIfExists.add(el.Parent.Name.SimpleName);
    }
  });
  walk((el) => {
    if (el.Kind !== K.Syntax.SyntaxKind.PathExpression) return;
    const target = el.Expression;
    if (callName(target) === 'columnifexists'
        || (target.Kind === K.Syntax.SyntaxKind.NameReference && columnIfExists.has(target.SimpleName))) {
      members.push([el.Selector.TextStart, el.Selector.TextStart + el.Selector.Width]);
    }
  });
  return { dynamicArgs, members };
}

function relax(code, diagnostics) {
  if (!diagnostics.some((d) => d.code === TYPE_EXPECTED || d.code === UNKNOWN_NAME)) return diagnostics;
  const { dynamicArgs, members } = relaxations(code);
  const out = [];
  for (const d of diagnostics) {
    if (d.code === TYPE_EXPECTED && d.message === 'A value of type string expected.'
        && dynamicArgs.has(`${d.start}:${d.length}`)) continue;
    if (d.code === UNKNOWN_NAME && members.some(([start, end]) => d.start >= start && d.start < end)) {
      out.push(Object.assign({}, d, { severity: 'Warning', message: `${d.message} It is read on a columnifexists() ` +
        'value, which Kusto.Language types by its default; at run time an existing column keeps its own type ' +
        '(dynamic values have members), so this is not checked.' }));
      continue;
    }
    out.push(d);
  }
  return out;
}

// Analyse; when a table is unknown, declare it open and analyse again so the rest of the
// query (syntax, functions, types) is still checked without a flood of column errors.
function bind(text) {
  let code = K.KustoCode.ParseAndAnalyze(text, state.globals);
  let diagnostics = diagnosticsOf(code);
  const fresh = new Set();
  for (const d of diagnostics) {
    if (d.code === UNKNOWN_TABLE && d.length > 0) fresh.add(text.substr(d.start, d.length));
  }
  if (fresh.size > 0) {
    assume(fresh);
    code = K.KustoCode.ParseAndAnalyze(text, state.globals);
    diagnostics = diagnosticsOf(code);
  }
  diagnostics = relax(code, diagnostics);
  const unknown = assumedReferences(code);
  for (const [name, where] of unknown) {
    diagnostics.push({ code: UNKNOWN_TABLE, severity: 'Warning', start: where.start, length: where.length,
      message: `The name '${name}' is not a table in the schema, a declared function or a variable; its columns were not checked.` });
  }
  diagnostics.sort((a, b) => a.start - b.start);
  return { code, diagnostics, unknownTables: Array.from(unknown.keys()) };
}

// Kusto accepts both without a diagnostic, but Sentinel cannot run them as a rule's query.
function notAQuery(code, text) {
  const first = code.Syntax.GetFirstToken();
  if (!first || first.Kind === K.Syntax.SyntaxKind.EndOfTextToken) {
    return { code: 'KQL002', severity: 'Error', syntax: true, start: 0, length: 0,
      message: 'The query is empty (nothing but blanks or comments).' };
  }
  if (String(code.Kind) !== 'Query') {
    return { code: 'KQL001', severity: 'Error', syntax: true, start: first.TextStart, length: text.length - first.TextStart,
      message: 'This is a control command, not a query; Sentinel runs queries only.' };
  }
  return null;
}

function analyse(msg) {
  const text = msg.query || '';
  const result = bind(text);
  const problem = notAQuery(result.code, text);
  if (problem) result.diagnostics.unshift(problem);
  return Object.assign({ kind: String(result.code.Kind), diagnostics: result.diagnostics }, readsOf(result));
}

function references(msg) {
  return readsOf(bind(msg.query || ''));
}

// Tables and table columns the query reads, following calls into declared functions; the
// declared functions it calls; the columns of its result (when it is a table).
function readsOf(result) {
  const globals = result.code.Globals;
  const tables = new Set();
  const columns = new Map();
  const functions = new Set();
  const assumed = new Set(state.assumed.values());
  const isDbTable = (sym) => state.tables.has(sym) || assumed.has(sym);
  const seen = new Set();
  const visit = (root, depth) => {
    K.Syntax.SyntaxElement.WalkElements(root, (el) => {
      const sym = el.ReferencedSymbol;
      if (sym && sym.Kind === S.SymbolKind.Table && isDbTable(sym)) tables.add(sym.Name);
      // table('T'), also inside let functions: the call's result is the table itself
      const result = el.ResultType;
      if (result && result.Kind === S.SymbolKind.Table && isDbTable(result)) tables.add(result.Name);
      if (sym && sym.Kind === S.SymbolKind.Column) {
        const owner = globals.GetTable(sym);
        if (owner && isDbTable(owner)) {
          if (!columns.has(owner.Name)) columns.set(owner.Name, new Set());
          columns.get(owner.Name).add(sym.Name);
        }
      }
      if (sym && sym.Kind === S.SymbolKind.Function && state.functions.has(sym)) functions.add(sym.Name);
      if (depth < 8 && typeof el.GetExpansion === 'function' && sym && sym.Kind === S.SymbolKind.Function) {
        const expansion = el.GetExpansion();
        if (expansion && !seen.has(expansion)) {
          seen.add(expansion);
          visit(expansion, depth + 1);
        }
      }
    }, null, null);
  };
  visit(result.code.Syntax, 0);
  const cols = {};
  for (const [name, set] of columns) cols[name] = Array.from(set).sort();
  return { tables: Array.from(tables).sort(), columns: cols, unknownTables: result.unknownTables,
    functions: Array.from(functions).sort(), outputColumns: outputColumns(result.code),
    outputOpen: outputOpen(result.code) };
}

// True when the result comes from a table the schema does not know (declared open): other
// columns may exist, so a mapped column cannot be called missing.
function outputOpen(code) {
  const type = code.ResultType;
  return Boolean(type && type.Kind === S.SymbolKind.Table && type.IsOpen);
}

function outputColumns(code) {
  const type = code.ResultType;
  if (!type || type.Kind !== S.SymbolKind.Table || !type.Columns) return [];
  const names = [];
  for (let i = 0; i < type.Columns.Count; i++) names.push(type.Columns.getItem(i).Name);
  return names;
}

const handlers = { configure, analyse, references, declare, ping: () => ({ version: loaded.version }) };

function handle(line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (err) {
    return { id: null, error: `request is not JSON: ${err.message}` };
  }
  const handler = handlers[msg.kind || 'analyse'];
  if (!handler) return { id: msg.id, error: `unknown request kind ${JSON.stringify(msg.kind)}` };
  if (!state && msg.kind !== 'configure' && msg.kind !== 'ping') configure({});
  try {
    return Object.assign({ id: msg.id }, handler(msg));
  } catch (err) {
    return { id: msg.id, error: String((err && err.message) || err) };
  }
}

function serve() {
  const readline = require('readline');  // here: a snapshot is built without it
  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', (line) => {
    if (!line.trim()) return;
    process.stdout.write(JSON.stringify(handle(line)) + '\n');
  });
  input.on('close', () => process.exit(0));
}

// What the snapshot holds besides the loaded package: Kusto.Language's lazily built tables
// (functions, operators, their signatures) that the first queries would otherwise pay for.
const WARM_UP = [
  'print 1',
  'T | where TimeGenerated > ago(1d) and A has "x" | extend B = tostring(parse_json(C).d) '
    + '| summarize count(), make_set(A), arg_max(TimeGenerated, *) by bin(TimeGenerated, 1h), B '
    + '| join kind=inner (T | project A, C) on A | project-away A1 | top 10 by count_',
  'let t = datatable(a:string)["x"]; union t, (T | mv-expand d = todynamic(C) | parse A with * "=" v:string) '
    + '| extend ip = parse_ipv4(A), u = parse_url(A), s = split(A, ",")[0] | lookup (t) on a',
];

function warmUp() {
  configure({ tables: [{ name: 'T', columns: [['TimeGenerated', 'datetime'], ['A', 'string'], ['C', 'string']] }] });
  for (const query of WARM_UP) analyse({ query });
  state = null;  // the real configure comes from the Python side
}

if (BUILDING_SNAPSHOT) {
  warmUp();
  v8.startupSnapshot.setDeserializeMainFunction(serve);
} else {
  serve();
}
