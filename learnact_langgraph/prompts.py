"""Every prompt the package sends, in one place and in our own words.

The layout follows the LearnAct paper (instruction, actions with descriptions, notes,
examples, goal, history; creation, repair and Update/Plan revision prompts), but the
text is written fresh. Templates use ``str.format`` slots; helpers at the bottom
assemble the pieces that repeat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

AGENT_SYSTEM = (
    "You act in a simulated world by writing Python. Each turn you answer with exactly one "
    "line of Python that calls the available actions, and nothing else."
)

REACT_SYSTEM = (
    "You act in a simulated world by writing Python. Each turn you answer with exactly one "
    "line: either `Think: <your reasoning>` to plan, or one line of Python that calls the "
    "available actions."
)

TOOL_AGENT_SYSTEM = """{instruction}

Reach the goal the user gives you by calling the tools: each tool is an action in the
world and returns what you observe afterwards. Call one tool at a time and read its
result before the next call. Stop and say so when the goal is satisfied."""

AGENT_ACTIONS_HEADER = "You can call these actions (they are Python functions):"
AGENT_LEARNED_HEADER = "You can also call these higher-level actions, built from the ones above:"
AGENT_NOTES_HEADER = "Notes on using the higher-level actions:"
AGENT_EXAMPLES_HEADER = "Examples:"
AGENT_GOAL = "Your goal: {goal}"
AGENT_ACTION_CUE = "Action:"
REACT_HINT = (
    "Before acting you may write one line starting with `Think:` to plan; it does not change "
    "the world."
)
THINK_OBSERVATION = "OK."

UNPARSABLE_ACTION = (
    "(Your last answer could not be run: {reason}. Answer with one line of Python that "
    "calls one action, for example {example})"
)
#: Where the agent's turn ends: models go on to invent the observation.
AGENT_STOP = ["\nObservation:"]

# ----- learner: creating actions -----------------------------------------------------
CREATE_ACTIONS = """{prefix}

Your job now is to write new, higher-level actions for this world as Python functions.
- Each function combines at least two of the actions above into one reusable step.
- The actions above already exist: call them, and never define them again.
- Every object, place or value it works on is a parameter; nothing is hard-coded.
- Only the actions listed above exist. You cannot import modules, read files or use the
  network. Each action returns its observation as a string, so a function can check it.
- Write at most three short functions.
- Start each function with a one-line docstring: what it does, when it can be used, and
  what it changes.
- An action is called like this: {action_example}
- After the functions, in the same block, write one example call of each function, with
  arguments that fit this state of a task: {state}
  The calls are run there to test your code.

Put all your code in a single ```python block. Here is an example of a good answer:
{tool_example}

Now write your functions."""

NO_TEST_CALLS = (
    "Your answer has no example calls. After the functions, in the same ```python block, "
    "write one call of each of {names} with arguments that fit the state given above; the "
    "calls are run to test the code."
)

NO_ACTION_TAKEN = (
    "{call} called no action, so nothing changed in the world. A higher-level action must "
    "call the actions above (not return their names or code as text)."
)

DRY_RUN_FAILED = """Your code was run to test it, and {call} failed: {error}
{traceback}"""

REPAIR_CODE = """Your code could not be used:
{error}

Fix the problem and write the complete answer again, with all functions in one ```python block."""

TRUNCATED_CODE = (
    "Your answer was cut off after {tokens} tokens, the most a reply may have, before the "
    "code was complete. Write shorter code: fewer and smaller functions, no comments, no "
    "explanation outside the ```python block."
)

REDEFINED_BASE = (
    "You wrote functions named {names}, but those are the existing actions: they are "
    "already there and must not be written again. Write only new functions, with new "
    "names, whose bodies call the existing actions."
)

NO_CODE_FOUND = (
    "No Python code was found in your answer. Write the functions inside one ```python block."
)

DESCRIBE_ACTION = """{prefix}

The function below wraps the actions above into a higher-level action:
```python
{source}
```
In one or two sentences, say what `{name}` does, what must hold before calling it and what it
changes. Answer with the description only."""

# ----- learner: revising actions ---------------------------------------------------------
REVISE_ACTIONS = """{prefix}

You wrote the higher-level actions below to help reach goals like this one: {goal}
```python
{library}
```
The action `{name}` was called after this observation:
{state}
Action: {line}
It failed ({error_kind}): {message}
What happened inside the call, step by step:
{substeps}

Improve the actions in one of two ways:
- Update: rewrite `{name}` (and add helper functions if needed) so it handles this case.
- Plan: keep the code as it is and write a short note that tells the user of the action how
  to call it correctly.
{examples}
Answer in exactly this format:
Failed reason: <why the call failed>
Improve: <Update or Plan>: <function name>
Content: <for Update, one ```python block with the complete new or rewritten functions,
ending with one example call of each rewritten function for the state above (it is run to
test the code); for Plan, the note in one or two sentences>"""

REVISE_EXAMPLES = """
Here are worked examples of both kinds of answer, from other problems of this world:
{examples}
"""

# ----- Reflexion baseline ------------------------------------------------------------------
REFLECT = """{prefix}

{example}You tried to reach this goal: {goal}
Here is what you did:
{history}

You did not reach the goal. In two or three sentences, write a plan for your next attempt
that avoids the mistakes above. Answer with the plan only."""

REFLECT_EXAMPLE = """Here is an example of an attempt that failed, and the plan written after it:
{example}

"""

REFLECTION_HEADER = "Plans from earlier attempts (follow them):"

# ----- Code-as-Policy baseline -------------------------------------------------------------
CODE_AS_POLICY = """{prefix}

Your goal: {goal}
The current state: {observation}

Write one Python program that reaches the goal by calling the actions. You may define helper
functions. Put the whole program in one ```python block; it is run once, from top to bottom."""

GENERIC_TOOL_EXAMPLE = '''```python
def do_twice(thing, place):
    """Do the first action on thing at place, then the second. Needs thing at place."""
    first_action(thing, place)
    return second_action(thing, place)

do_twice('thing1', 'place1')
```'''


def bullet_lines(lines: Iterable[str], indent: str = "    ") -> str:
    return "\n".join(f"{indent}{line}" for line in lines)


def history_lines(initial: str, steps: Sequence[tuple[str, str]]) -> str:
    """``Observation: ...`` / ``Action: ...`` lines, oldest first."""
    out = [f"Observation: {initial}"]
    for action, observation in steps:
        out.append(f"Action: {action}")
        out.append(f"Observation: {observation}")
    return "\n".join(out)


#: One small example answer per built-in domain for the creation prompt (our own code).
TOOL_EXAMPLES: dict[str, str] = {
    "gripper": '''```python
def carry_ball(ball, from_room, to_room, gripper):
    """Carry ball from from_room to to_room in gripper. Robby must be in from_room with the
    gripper free; afterwards Robby is in to_room, the ball is there and the gripper is free."""
    pick(ball, from_room, gripper)
    move(from_room, to_room)
    return drop(ball, to_room, gripper)

carry_ball('ball1', 'rooma', 'roomb', 'left')
```''',
    "blockworld": '''```python
def put_on(block, below):
    """Lift block from the table and stack it on below. The arm must be empty and both
    blocks clear; afterwards block is on below and the arm is empty."""
    Pickup(block)
    return Stack(block, below)

put_on('b1', 'b2')
```''',
    "barman": '''```python
def fill_clean_shot(shot, ingredient, hand, other_hand, dispenser):
    """Take the empty, clean shot in hand and fill it with ingredient from dispenser.
    hand must be empty before; afterwards hand holds the shot, which contains ingredient."""
    grasp(hand, shot)
    return fill_shot(shot, ingredient, hand, other_hand, dispenser)

fill_clean_shot('shot1', 'ingredient1', 'left', 'right', 'dispenser1')
```''',
    "alfworld": '''```python
import re


def find_and_take(kind, places):
    """Search places in order for an object of kind (a word such as 'mug'), opening the
    closed ones, and take the first one found. Hands must be empty. Returns what taking
    it showed, or a sentence saying none was found."""
    for place in places:
        seen = goto(place)
        if 'is closed' in seen:
            seen = open(place)
        found = re.search(r'\\b(' + kind + r' \\d+)', seen)
        if found:
            return take(found.group(1), place)
    return 'There is no ' + kind + ' in ' + ', '.join(places) + '.'

find_and_take('mug', ['countertop 1', 'cabinet 2'])
```''',
    "tyreworld": '''```python
def take_out(thing, container):
    """Open container and take thing out of it. The container must be unlocked; it is
    left open and thing is held afterwards."""
    open(container)
    return fetch(thing, container)

take_out('wrench', 'boot')
```''',
}


def reflect_prompt(*, prefix: str, example: str, goal: str, history: str) -> str:
    """The Reflexion prompt, with the domain's worked example when it has one."""
    shown = REFLECT_EXAMPLE.format(example=example.strip()) if example.strip() else ""
    return REFLECT.format(prefix=prefix, example=shown, goal=goal, history=history)


def strip_plan_label(text: str) -> str:
    """The plan without a leading ``Plan:`` label (models copy the example's)."""
    text = text.strip()
    if text.lower().startswith("plan:"):
        text = text[5:].strip()
    return text


def revise_examples(examples: str) -> str:
    """The revision prompt's worked cases, when the environment has some."""
    return REVISE_EXAMPLES.format(examples=examples.strip()) if examples.strip() else ""
