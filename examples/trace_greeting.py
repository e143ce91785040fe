"""Microsoft Trace's own ``examples/greeting.py`` (MIT licence, (c) Microsoft Corporation),
ported to optoforge by changing only its three import lines:

    from opto import trace                                  -> from trace_core import compat as trace
    from opto.trace import node, bundle, model, ExecutionError -> from trace_core import ...
    from opto.optimizers import OptoPrime                   -> from optimizers import OptoPrime

The LLM comes from ``$OPTOFORGE_LLM`` (both ``call_llm`` and OptoPrime use it). The program
below this docstring is Trace's, unchanged apart from those imports and the ``__main__`` guard.
"""
# ruff: noqa
# fmt: off

from trace_core import compat as trace
from trace_core import node, bundle, model, ExecutionError
from optimizers import OptoPrime


@model
class Agent:

    def __init__(self, system_prompt):
        self.system_prompt = system_prompt
        self.instruct1 = node("Decide the language", trainable=True)
        self.instruct2 = node("Extract name if it's there", trainable=True)

    def __call__(self, user_query):
        response = trace.operators.call_llm(self.system_prompt, self.instruct1, user_query)
        en_or_es = self.decide_lang(response)

        user_name = trace.operators.call_llm(self.system_prompt, self.instruct2, user_query)
        greeting = self.greet(en_or_es, user_name)

        return greeting

    @bundle(trainable=True)
    def decide_lang(self, response):
        """Map the language into a variable"""
        return 'es' if 'es' or 'spanish' in response.lower() else 'en'

    @bundle(trainable=True)
    def greet(self, lang, user_name):
        """Produce a greeting based on the language"""
        greeting = "Hola" if lang.lower() == "es" else "Hello"
        return f"{greeting}, {user_name}!"

def feedback_fn(generated_response, gold_label='en'):
    if  gold_label == 'en' and 'Hello' in generated_response:
        return "Correct"
    else:
        return "Incorrect"

def train():
    epoch = 3
    agent = Agent("You are a sales assistant.")
    optimizer = OptoPrime(agent.parameters())

    for i in range(epoch):
        print(f"Training Epoch {i}")
        try:
            greeting = agent("Hola, soy Juan.")
            feedback = feedback_fn(greeting.data, 'es')
        except ExecutionError as e:
            greeting = e.exception_node
            feedback, terminal, reward = greeting.data, False, 0

        optimizer.zero_feedback()
        optimizer.backward(greeting, feedback)
        optimizer.step(verbose=True)

    return agent

class CorrectAgent:

    def __init__(self, system_prompt):
        self.system_prompt = system_prompt
        self.instruct1 = node("Decide the language: es or en?", trainable=True)
        self.instruct2 = node("Extract name if it's there", trainable=True)

    def __call__(self, user_query):
        response = trace.operators.call_llm(self.system_prompt, self.instruct1, user_query)
        en_or_es = self.decide_lang(response)

        user_name = trace.operators.call_llm(self.system_prompt, self.instruct2, user_query)
        greeting = self.greet(en_or_es, user_name)

        return greeting

    @bundle(trainable=True)
    def decide_lang(self, response):
        """Map the language into a variable"""
        return 'es' if 'es' or 'spanish' in response.lower() else 'en'

    @bundle(trainable=True)
    def greet(self, lang, user_name):
        """Produce a greeting based on the language"""
        greeting = "Hola" if lang.lower() == "es" else "Hello"
        return f"{greeting}, {user_name}!"


if __name__ == "__main__":
    train()
