'use strict';
// Long-lived KQL analysis worker for packer/kql/analyser.py.
//
// Protocol: one JSON object per line on stdin, one answer per line on stdout, same `id`.
//   {"id":0,"kind":"configure","tables":[{name, columns:[[name,type]...], open}],
//    "functions":[{name, parameters:"(a:string, ...)", body:"{ ... }"} |
//                 {name, parameters:"(...)", columns:[[name,type]...], open}]}
//   {"id":1,"kind":"analyse","query":"..."}     -> {id, diagnostics:[...], unknownTables:[...]}
//   {"id":2,"kind":"references","query":"..."}  -> {id, tables:[...], columns:{table:[...]}, unknownTables}
// Any failure answers {id, error}. Loading follows docs/kql.md: Bridge.NET runtime first.

const path = require('path');
const readline = require('readline');

function loadKusto() {
  const override = process.env.SENTINEL_PACKER_NODE_MODULES;
  const paths = override ? [override] : undefined;
  const pkg = require.resolve('@kusto/language-service-next/package.json', paths ? { paths } : undefined);
  const dir = path.dirname(pkg);
  require(path.join(dir, 'bridge.min.js'));
  require(path.join(dir, 'Kusto.Language.Bridge.min.js'));
  return { version: require(pkg).version };
}

const loaded = loadKusto();
const K = Kusto.Language;
const S = Kusto.Language.Symbols;

const UNKNOWN_TABLE = 'KS204';
const CACHE_LIMIT = 64;

let state = null; // {db, members, globals, tables:Set<TableSymbol>, augmented:Map}

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

function configure(msg) {
  const dbRef = { db: null };
  const tables = (msg.tables || []).map((t) => table(t.name, t.columns, t.open));
  const functions = (msg.functions || []).map((f) => functionSymbol(f, dbRef));
  const members = tables.concat(functions);
  dbRef.db = new S.DatabaseSymbol.ctor(msg.database || 'sentinel', members);
  state = {
    dbRef,
    members,
    globals: K.GlobalState.Default.WithDatabase(dbRef.db),
    tables: new Set(tables),
    augmented: new Map(),
  };
  // the first analysis initialises Kusto's built-in function tables: pay it now, not on query 1
  K.KustoCode.ParseAndAnalyze('print 1', state.globals).GetDiagnostics();
  return { version: loaded.version, tables: tables.length, functions: functions.length };
}

// Globals where the given unknown table names exist as open tables (cached per name set).
function globalsWith(names) {
  const key = names.slice().sort().join('\u0000');
  let entry = state.augmented.get(key);
  if (!entry) {
    const extra = names.map((n) => table(n, [], true));
    const dbRef = { db: null };
    dbRef.db = new S.DatabaseSymbol.ctor(state.dbRef.db.Name, state.members.concat(extra));
    entry = { globals: K.GlobalState.Default.WithDatabase(dbRef.db), extra: new Set(extra) };
    if (state.augmented.size >= CACHE_LIMIT) state.augmented.delete(state.augmented.keys().next().value);
    state.augmented.set(key, entry);
  }
  return entry;
}

function diagnosticsOf(code) {
  const list = code.GetDiagnostics();
  const out = [];
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    out.push({ code: d.Code, severity: d.Severity, message: d.Message,
      start: d.HasLocation ? d.Start : 0, length: d.HasLocation ? d.Length : 0 });
  }
  return out;
}

// Analyse once; when tables are unknown, declare them open and analyse again so the rest of
// the query (syntax, functions, types) is still checked without a flood of column errors.
function bind(text) {
  let code = K.KustoCode.ParseAndAnalyze(text, state.globals);
  let diagnostics = diagnosticsOf(code);
  const unknown = new Map();
  for (const d of diagnostics) {
    if (d.code === UNKNOWN_TABLE && d.length > 0) {
      const name = text.substr(d.start, d.length);
      if (!unknown.has(name)) unknown.set(name, d);
    }
  }
  let extra = new Set();
  if (unknown.size > 0) {
    const entry = globalsWith(Array.from(unknown.keys()));
    code = K.KustoCode.ParseAndAnalyze(text, entry.globals);
    extra = entry.extra;
    diagnostics = diagnosticsOf(code).filter((d) => d.code !== UNKNOWN_TABLE);
    for (const [name, first] of unknown) {
      diagnostics.push({ code: UNKNOWN_TABLE, severity: 'Warning', start: first.start, length: first.length,
        message: `The name '${name}' is not a table in the schema, a declared function or a variable; its columns were not checked.` });
    }
  }
  diagnostics.sort((a, b) => a.start - b.start);
  return { code, diagnostics, unknownTables: Array.from(unknown.keys()), extra };
}

function analyse(msg) {
  const text = msg.query || '';
  const result = bind(text);
  return { kind: String(result.code.Kind), diagnostics: result.diagnostics, unknownTables: result.unknownTables };
}

// Tables and table columns the query reads, following calls into declared functions.
function references(msg) {
  const text = msg.query || '';
  const result = bind(text);
  const globals = result.code.Globals;
  const tables = new Set();
  const columns = new Map();
  const isDbTable = (sym) => state.tables.has(sym) || result.extra.has(sym);
  const seen = new Set();
  const visit = (root, depth) => {
    K.Syntax.SyntaxElement.WalkElements(root, (el) => {
      const sym = el.ReferencedSymbol;
      if (sym && sym.Kind === S.SymbolKind.Table && isDbTable(sym)) tables.add(sym.Name);
      if (sym && sym.Kind === S.SymbolKind.Column) {
        const owner = globals.GetTable(sym);
        if (owner && isDbTable(owner)) {
          if (!columns.has(owner.Name)) columns.set(owner.Name, new Set());
          columns.get(owner.Name).add(sym.Name);
        }
      }
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
  return { tables: Array.from(tables).sort(), columns: cols, unknownTables: result.unknownTables };
}

const handlers = { configure, analyse, references, ping: () => ({ version: loaded.version }) };

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

const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on('line', (line) => {
  if (!line.trim()) return;
  process.stdout.write(JSON.stringify(handle(line)) + '\n');
});
input.on('close', () => process.exit(0));
