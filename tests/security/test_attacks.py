"""Attack cases: each proves the attack is stopped with a clear error, then that the
next normal call still works. Sources are written as an attacker (an LLM) would."""

from __future__ import annotations

import pytest

from learnact_langgraph.sandbox import ExecResult, PolicyViolation, Sandbox
from tests.unit_tests.sandbox.toy_env import assert_next_call_works


def stopped(sb: Sandbox, code: str, kind: str, *words: str) -> ExecResult:
    result = sb.run(code)
    assert not result.ok, result
    assert result.error_kind == kind, result
    for word in words:
        assert word.lower() in result.message.lower(), result.message
    assert result.observation.startswith("Error: ")
    assert_next_call_works(sb)
    return result


# ----- files ---------------------------------------------------------------------------
def test_read_file_with_open(sb: Sandbox) -> None:
    stopped(sb, "open('/etc/passwd').read()", "policy_violation", "open() is not available")


def test_write_file_with_open(sb: Sandbox) -> None:
    stopped(sb, "open('pwned.txt', 'w').write('x')", "policy_violation", "open()")


def test_read_file_via_pathlib(sb: Sandbox) -> None:
    stopped(sb, "pathlib.Path('/etc/passwd').read_text()", "policy_violation", "pathlib")


# ----- imports -------------------------------------------------------------------------
@pytest.mark.parametrize("module", ["os", "subprocess", "socket", "ctypes"])
def test_import_module(sb: Sandbox, module: str) -> None:
    stopped(sb, f"import {module}", "policy_violation", f"import of '{module}' is not allowed")


def test_from_import(sb: Sandbox) -> None:
    stopped(sb, "from os import system\nsystem('id')", "policy_violation", "import from 'os'")


def test_dunder_import(sb: Sandbox) -> None:
    stopped(sb, "__import__('os').system('id')", "policy_violation", "'__import__'")


# ----- dynamic code ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "code",
    ["eval('1 + 1')", "exec('x = 1')", "compile('1', 'f', 'eval')"],
    ids=["eval", "exec", "compile"],
)
def test_dynamic_code(sb: Sandbox, code: str) -> None:
    stopped(sb, code, "policy_violation", "is not available in learned code")


# ----- object graph walks --------------------------------------------------------------
def test_dunder_walk_to_subclasses(sb: Sandbox) -> None:
    stopped(sb, "().__class__.__mro__[1].__subclasses__()", "policy_violation", "'__class__'")


def test_getattr_with_dunder_string(sb: Sandbox) -> None:
    stopped(sb, "getattr((), '__class__')", "policy_violation", "getattr()")


def test_type_and_object(sb: Sandbox) -> None:
    stopped(sb, "type(()).mro()[1]", "policy_violation", "type()")


def test_format_string_attribute_lookup(sb: Sandbox) -> None:
    stopped(sb, "'{0.__class__.__mro__}'.format(())", "policy_violation", "reads an attribute")


def test_function_globals(sb: Sandbox) -> None:
    stopped(sb, "f = lambda: 0\nf.__globals__", "policy_violation", "'__globals__'")


def test_match_class_pattern(sb: Sandbox) -> None:
    code = "match ():\n    case tuple(__class__=c):\n        pass"
    stopped(sb, code, "policy_violation", "match statements are not allowed")


def test_class_definition(sb: Sandbox) -> None:
    stopped(sb, "class A:\n    pass", "policy_violation", "class definitions")


# ----- frames --------------------------------------------------------------------------
def test_generator_frame(sb: Sandbox) -> None:
    code = "g = (x for x in [1])\ng.gi_frame.f_back.f_globals"
    stopped(sb, code, "policy_violation", "'gi_frame'")


def test_frame_back_from_traceback(sb: Sandbox) -> None:
    code = "try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__.tb_frame.f_back"
    stopped(sb, code, "policy_violation", "'__traceback__'")


def test_frame_globals_attribute(sb: Sandbox) -> None:
    stopped(sb, "x = carry\nx.f_globals", "policy_violation", "'f_globals'")


def test_globals_builtin(sb: Sandbox) -> None:
    stopped(sb, "globals()['carry']", "policy_violation", "globals()")


def test_vars_builtin(sb: Sandbox) -> None:
    stopped(sb, "vars()", "policy_violation", "vars()")


def test_locals_builtin(sb: Sandbox) -> None:
    stopped(sb, "locals()", "policy_violation", "locals()")


# ----- builtins tampering --------------------------------------------------------------
def test_builtins_dict_tampering(sb: Sandbox) -> None:
    stopped(sb, "__builtins__['len'] = None", "policy_violation", "'__builtins__'")


def test_builtins_module(sb: Sandbox) -> None:
    stopped(sb, "builtins.len = None", "policy_violation", "builtins")


def test_shadowing_a_builtin_does_not_leak(sb: Sandbox) -> None:
    first = sb.run("len = lambda x: 0\nlen('abc')")
    assert first.ok and first.value == 0
    second = sb.run("len('abc')")
    assert second.ok and second.value == 3
    assert_next_call_works(sb)


def test_learned_global_state_is_fresh_each_call(sb: Sandbox) -> None:
    sb.load({"remember": "SEEN = []\n\ndef remember(x):\n    SEEN.append(x)\n    return SEEN\n"})
    assert sb.call("remember", 1).value == [1]
    assert sb.call("remember", 2).value == [2]
    assert_next_call_works(sb)


def test_global_statement_refused_at_load(sb: Sandbox) -> None:
    src = "def evil():\n    global carry\n    carry = None\n"
    with pytest.raises(PolicyViolation, match="global statements are not allowed"):
        sb.load({"evil": src})
    assert "evil" not in sb.sources
    assert_next_call_works(sb)


def test_redefining_a_base_action_refused(sb: Sandbox) -> None:
    src = "def pick(ball, room):\n    return 'You hold it.'\n\ndef fake():\n    return 1\n"
    with pytest.raises(PolicyViolation, match="'pick' is a base action"):
        sb.load({"fake": src})
    assert_next_call_works(sb)


# ----- the environment object ---------------------------------------------------------
def test_env_name_refused(sb: Sandbox) -> None:
    stopped(sb, "env.state['balls']['b1'] = 'b'", "policy_violation", "'env'")


def test_env_not_reachable_through_base_action(sb: Sandbox) -> None:
    stopped(sb, "pick.__closure__[0].cell_contents", "policy_violation", "'__closure__'")


def test_env_not_reachable_through_method_self(sb: Sandbox) -> None:
    stopped(sb, "move.__self__.state", "policy_violation", "'__self__'")


def test_env_private_attribute_through_observation(sb: Sandbox) -> None:
    stopped(sb, "o = move('a', 'b')\no._env", "policy_violation", "'_env'")


# ----- resource exhaustion -------------------------------------------------------------
def test_infinite_loop(sb: Sandbox) -> None:
    result = stopped(sb, "while True:\n    pass", "timeout", "wall-time limit")
    assert result.duration_s < 5


def test_cpu_burn_with_long_wall_time(sb: Sandbox) -> None:
    # CPU-bound work that would run for minutes: stopped by the CPU or wall limit.
    result = sb.run("sum(i * i for i in range(10 ** 10))")
    assert result.error_kind in ("limit", "timeout"), result
    assert_next_call_works(sb)


def test_memory_bomb_single_allocation(sb: Sandbox) -> None:
    stopped(sb, "x = 'a' * (10 ** 10)", "limit", "memory limit")


def test_memory_bomb_growing_list(sb: Sandbox) -> None:
    stopped(sb, "a = []\nwhile True:\n    a.append('x' * 10 ** 6)", "limit", "memory")


def test_deep_recursion(sb: Sandbox) -> None:
    result = stopped(sb, "def f(n):\n    return f(n + 1)\nf(0)", "limit", "recursion depth")
    assert '<action>", line 2, in f' in result.traceback


def test_huge_output(sb: Sandbox) -> None:
    result = stopped(sb, "while True:\n    print('spam' * 100)", "limit", "printed output")
    assert len(result.stdout) <= 2_000


def test_long_running_base_action_loop(sb: Sandbox) -> None:
    code = "while True:\n    move('a', 'b')\n    move('b', 'a')"
    result = sb.run(code)
    assert result.error_kind == "limit" and "base-action calls" in result.message
    assert len(result.substeps) == 30
    assert result.rolled_back
    assert_next_call_works(sb)


def test_base_action_loop_swallowing_the_stop(sb: Sandbox) -> None:
    code = "for i in range(1000):\n    try:\n        move('a', 'b')\n    except:\n        pass"
    result = sb.run(code)
    assert result.error_kind == "limit" and "base-action calls" in result.message, result
    assert len(result.substeps) == 30
    assert_next_call_works(sb)


# ----- processes and exits --------------------------------------------------------------
def test_fork(sb: Sandbox) -> None:
    stopped(sb, "os.fork()", "policy_violation", "'os'")


def test_sys_exit(sb: Sandbox) -> None:
    stopped(sb, "sys.exit(0)", "policy_violation", "'sys'")


def test_exit_builtin(sb: Sandbox) -> None:
    stopped(sb, "exit()", "policy_violation", "exit()")


def test_raise_system_exit(sb: Sandbox) -> None:
    stopped(sb, "raise SystemExit(0)", "python_exception", "NameError")


def test_os_underscore_exit(sb: Sandbox) -> None:
    stopped(sb, "os._exit(0)", "policy_violation", "'os'")


def test_signals(sb: Sandbox) -> None:
    stopped(sb, "signal.raise_signal(9)", "policy_violation", "'signal'")


def test_breakpoint_and_input(sb: Sandbox) -> None:
    stopped(sb, "breakpoint()", "policy_violation", "breakpoint()")
    stopped(sb, "input()", "policy_violation", "input()")


def test_attack_inside_learned_action_refused_at_load(sb: Sandbox) -> None:
    src = "def sneaky():\n    import os\n    return os.listdir('/')\n"
    with pytest.raises(PolicyViolation, match="import of 'os' is not allowed"):
        sb.load({"sneaky": src})
    assert_next_call_works(sb)
