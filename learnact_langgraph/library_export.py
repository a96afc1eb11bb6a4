"""Export and import of an :class:`ActionLibrary`: JSON manifest, Python module, OpenAI schemas.

* The **JSON manifest** holds everything: base actions, every version of every action,
  the release history and the release pointer. Keys are sorted and the layout is fixed,
  and nothing in it depends on when it was written, so export -> import -> export gives
  the same bytes. It carries ``schema_version``; an unknown one is refused, and so is
  any version the sandbox's gate refuses (with the manifest's base actions).
* The **Python module** is self-contained: base-action stubs forwarding to a bound
  environment (anything with ``call(name, *args)``), ``bind(env)``, and the released
  learned functions. It imports nothing from this package.
* **OpenAI tool schemas** come from the same argument schemas the LangChain tools use.

All three read the release snapshot (``library_snapshot``) and the raw version
records, so none of them parses an action's source again: linear in the library.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import islice
from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.store.base import GetOp, PutOp

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.errors import ActionValidationError, LibraryError
from learnact_langgraph.library import SCHEMA_VERSION, ActionLibrary
from learnact_langgraph.library_cache import from_record, gc_paused
from learnact_langgraph.library_release import check_publishable, get_many, gkey, resolve, vkey
from learnact_langgraph.library_snapshot import full_snapshot_ops
from learnact_langgraph.tools.schema import SCHEMA_FORMAT

__all__ = [
    "dumps_indented",
    "export_manifest",
    "export_openai",
    "export_python",
    "import_manifest",
]

FORMAT = "learnact-library"


def dumps_indented(value: Any, *, ensure_ascii: bool = False) -> str:
    """Indented, key-sorted JSON and a newline: ``json.dumps``'s text.

    ``json.dumps`` with an indent collects every piece the encoder yields (millions at
    10,000 actions, tens of megabytes of small strings) before joining them; joining
    them a few thousand at a time gives the same text while the pieces are still in
    the CPU caches.
    """
    pieces = _ENCODERS[ensure_ascii].iterencode(value)
    blocks = []
    while block := list(islice(pieces, 4096)):
        blocks.append("".join(block))
    blocks.append("\n")
    return "".join(blocks)


_ENCODERS = {
    ascii_only: json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=ascii_only)
    for ascii_only in (False, True)
}


_RECORD_KEYS = frozenset(LearnedAction.model_fields) | {"signature"}


def _records(lib: ActionLibrary, heads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every version record of ``heads``, in order, read in one batch.

    A record this library wrote is already ``to_record()`` of its action and goes out
    as stored; one with other fields (an older layout) is read and written again.
    """
    pairs = [(h["name"], v) for h in heads for v in range(1, int(h["latest"]) + 1)]
    items = get_many(lib.store, [GetOp(lib.ns("versions", n), vkey(v)) for n, v in pairs])
    out = []
    for (name, version), item in zip(pairs, items, strict=True):
        if item is None:
            raise LibraryError(f"{name!r} has no version {version}; see `history({name!r})`.")
        record = item.value
        out.append(record if record.keys() == _RECORD_KEYS else from_record(record).to_record())
    return out


def manifest(lib: ActionLibrary) -> dict[str, Any]:
    """The manifest as a dict (see :func:`export_manifest`)."""
    gen, skipped = lib.pointer()
    alloc = lib.store.get(lib.ns("meta"), "allocated")
    meta = lib.store.get(lib.ns("meta"), "library")
    heads = lib.heads()
    records = iter(_records(lib, heads))
    actions = [
        {
            "name": head["name"],
            "latest": head["latest"],
            "released": head["released"],
            "versions": [next(records) for _ in range(int(head["latest"]))],
        }
        for head in heads
    ]
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "base_actions": meta.value.get("base_actions", []) if meta else [],
        "current_generation": gen,
        "skipped_generations": sorted(skipped),
        "allocated_generation": int(alloc.value["generation"]) if alloc else gen,
        "actions": actions,
        "releases": [r.to_record() for r in lib.releases()],
    }


def export_manifest(lib: ActionLibrary) -> str:
    """The whole library, history included, as stable JSON text."""
    with gc_paused():
        return dumps_indented(manifest(lib))


def import_manifest(lib: ActionLibrary, text: str, *, replace: bool = False) -> None:
    """Load a manifest into ``lib`` (empty, or emptied first with ``replace=True``)."""
    with gc_paused():  # every version's record, tree and action: no cycles among them
        _import_manifest(lib, text, replace)


def _import_manifest(lib: ActionLibrary, text: str, replace: bool) -> None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LibraryError(f"The manifest is not valid JSON ({exc}); export it again.") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LibraryError("This file is not a learnact library manifest.")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise LibraryError(
            f"Manifest schema version {data.get('schema_version')!r} is not supported "
            f"(this version reads {SCHEMA_VERSION}); upgrade learnact-langgraph."
        )
    gen = int(data["current_generation"])
    skipped = frozenset(int(g) for g in data["skipped_generations"])
    ops: list[PutOp] = []
    catalog: list[PutOp] = []
    released: dict[str, LearnedAction] = {}
    base_names = [str(b.get("name", "")) for b in data.get("base_actions", [])]
    for entry in data["actions"]:
        name = entry["name"]
        versions = [_importable(r, base_names) for r in entry["versions"]]
        if [v.version for v in versions] != list(range(1, int(entry["latest"]) + 1)):
            raise LibraryError(f"The manifest's history of {name!r} has gaps; export it again.")
        head = {"name": name, "latest": int(entry["latest"]), "released": entry["released"]}
        ops += [
            PutOp(lib.ns("versions", name), vkey(v.version), v.to_record(), False) for v in versions
        ]
        ops.append(PutOp(lib.ns("heads"), name, head, False))
        shown = resolve(head, gen, skipped)
        if shown is not None:
            released[name] = versions[shown - 1]
            doc = {"name": name, "version": shown, "text": lib.catalog_text(versions[shown - 1])}
            catalog.append(
                PutOp(lib.ns("catalog"), name, doc, ["text"] if lib.has_index else False)
            )
    ops += [PutOp(lib.ns("releases"), gkey(r["generation"]), r, False) for r in data["releases"]]
    meta = {"schema_version": SCHEMA_VERSION, "base_actions": data["base_actions"]}
    ops.append(PutOp(lib.ns("meta"), "library", meta, False))
    ops.append(
        PutOp(lib.ns("meta"), "allocated", {"generation": data["allocated_generation"]}, False)
    )
    with lib.locker.hold(lib.lock_key):
        if replace:
            _clear(lib)
        elif lib.generation or lib.heads():
            raise LibraryError(
                f"The library at {'/'.join(lib.prefix)} is not empty; import into a new prefix "
                "or pass replace=True (CLI: --replace)."
            )
        lib.store.batch(ops + catalog + full_snapshot_ops(lib, gen, released))
        pointer = {"generation": gen, "skipped": sorted(skipped)}
        lib.store.put(lib.ns("meta"), "current", pointer, index=False)


def _importable(record: dict[str, Any], base_names: list[str]) -> LearnedAction:
    """One version of the manifest, refused (``LibraryError``) if the gate refuses it."""
    try:
        action = LearnedAction.from_record(record)
        check_publishable(action, base_names)
    except ActionValidationError as exc:
        where = f"{record.get('name')!r} v{record.get('version')}"
        raise LibraryError(f"The manifest's action {where} cannot be imported: {exc}") from exc
    return action


def _clear(lib: ActionLibrary) -> None:
    doomed: list[PutOp] = []
    for part in ("versions", "heads", "releases", "meta", "catalog", "snapshots", "shards"):
        offset = 0
        while True:
            page = lib.store.search(lib.ns(part), limit=1000, offset=offset)
            doomed += [PutOp(i.namespace, i.key, None) for i in page]
            if len(page) < 1000:
                break
            offset += 1000
    if doomed:
        lib.store.batch(doomed)


_MODULE_HEAD = '''"""Learned actions exported from learnact-langgraph ({where}, release {gen}).

Self-contained: it imports nothing from learnact-langgraph. Use it as

    import {module}
    {module}.bind(env)      # any object with call(name, *args), e.g. an Environment
    {module}.{example}

Base actions return an ``Observation``: the observation text, with ``valid`` and
``done`` attributes, exactly as inside the learnact sandbox. Generated file: change
the library and export again rather than editing it.

Unlike learnact's own tools, this module runs the learned code in your interpreter,
without a sandbox: read it before you import it.
"""

from __future__ import annotations

_env = None


class Observation(str):
    """A base action's observation text; ``valid`` and ``done`` let code branch."""

    valid = True
    done = False


def bind(env):
    """Send every base action to ``env.call(name, *args)``; returns ``env``."""
    global _env
    _env = env
    return env


def _call(name, *args):
    if _env is None:
        raise RuntimeError("Call bind(env) before running an action.")
    result = _env.call(name, *args)
    obs = Observation(getattr(result, "observation", result))
    obs.valid = bool(getattr(result, "valid", True))
    obs.done = bool(getattr(result, "done", False))
    return obs
'''


def export_python(
    lib: ActionLibrary, *, generation: int | None = None, module: str = "learned_actions"
) -> str:
    """A standalone module with base-action stubs, ``bind(env)`` and the learned functions.

    The module runs learned code wherever it is imported, with no sandbox: it is for
    libraries a person has reviewed. Agents should use :meth:`ActionLibrary.as_tools`,
    which runs every call in the sandbox.
    """
    gen = lib.generation if generation is None else generation
    with gc_paused():
        return _python_module(lib, gen, module)


def _python_module(lib: ActionLibrary, gen: int, module: str) -> str:
    """The module's text, in one pass over the released versions, joined once.

    Each version's function, ``LEARNED_ACTIONS`` entry and ``__all__`` name are written
    while its record is at hand (the text ``repr`` gives for the whole dict and list):
    at 10,000 actions the records no longer fit the CPU caches, and a second and third
    pass over them (``repr`` of the table, then of the names) cost as much as the first.
    """
    view = lib.release_view(gen)
    rows: Iterable[tuple[str, int, str, str, str]]
    if view is not None:
        rows = (
            (r["name"], r["version"], r["signature"], r["description"], r["source"])
            for r in view.records()
        )
    else:
        rows = ((a.name, a.version, a.signature, a.description, a.source) for a in lib.actions(gen))
    functions: list[str] = []
    table: list[str] = []
    learned: list[str] = []
    example = "some_action(...)"
    for name, version, signature, description, source in rows:
        sep = ", " if table else ""
        if not table:
            example = signature
        header = f"# {name} v{version}: {description}".rstrip()
        functions.append(f"\n\n{header}\n{source}")
        table.append(f"{sep}{name!r}: {{'version': {version!r}, 'signature': {signature!r}}}")
        learned.append(f", {name!r}")
    base = lib.base_actions
    parts = [
        _MODULE_HEAD.format(where="/".join(lib.prefix), gen=gen, module=module, example=example)
    ]
    for b in base:
        names = ", ".join(p.name for p in b.params)
        forward = ", ".join([repr(b.name), *(p.name for p in b.params)])
        parts.append(
            f"\n\ndef {b.name}({names}):\n    {b.description!r}\n    return _call({forward})\n"
        )
    parts += functions
    parts.append(f"\n\nBASE_ACTIONS = {tuple(b.name for b in base)!r}\n")
    parts += ["LEARNED_ACTIONS = {", *table, "}\n"]
    fixed = ", ".join(repr(n) for n in ("bind", "Observation", *(b.name for b in base)))
    parts += [f"__all__ = [{fixed}", *learned, "]\n"]
    return "".join(parts)


def openai_tools(lib: ActionLibrary, *, include_base: bool = True) -> list[dict[str, Any]]:
    """OpenAI function-calling schemas of the released (and base) actions.

    What ``convert_to_openai_tool`` gives for each of ``lib.as_tools(None)``; the
    learned actions' are written straight from the argument schemas their release
    snapshot stores, without building a tool each.
    """
    view = lib.release_view()
    if view is None:
        return [convert_to_openai_tool(t) for t in lib.as_tools(None, include_base=include_base)]
    base = lib.as_tools(None, include_base=True, names=[]) if include_base else []
    out = [convert_to_openai_tool(t) for t in base]
    for name, entry in view.entries():
        if entry.get("schema_format") != SCHEMA_FORMAT or not entry["described"]:
            out += [convert_to_openai_tool(t) for t in lib.as_tools(None, names=[name])[-1:]]
            continue
        out.append(openai_function(name, entry["described"], entry["schema"]))
    return out


def openai_function(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``convert_to_openai_tool`` of a tool with this JSON ``args_schema`` (no ``$ref``)."""
    parameters = {k: v for k, v in schema.items() if k not in ("title", "description")}
    function = {"name": name, "description": description, "parameters": _no_titles(parameters)}
    return {"type": "function", "function": function}


def _no_titles(schema: dict[str, Any], parent: str = "") -> dict[str, Any]:
    """Titles dropped as LangChain drops them: every ``title`` key, except a property
    named ``title``; nested dicts are walked, lists are not."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and not (isinstance(value, dict) and parent == "properties"):
            continue
        out[key] = _no_titles(value, key) if isinstance(value, dict) else value
    return out


def export_openai(lib: ActionLibrary, *, include_base: bool = True) -> str:
    with gc_paused():
        return dumps_indented(openai_tools(lib, include_base=include_base))
