"""The agent's hotkey helper: copy a buyer message, press a hotkey, pick 1-3.

- ``keys``: hotkeys as written on the command line, checked and turned into pynput's form;
- ``panels``: what a popup shows, as plain data (suggestions, a verdict, a notice);
- ``clipboard``: the system clipboard through pyperclip;
- ``backends``: the in-process engine, a sidecar, or the sidecar with a fallback;
- ``assistant``: the behaviour (clipboard in, panel out, choice to clipboard and feedback);
- ``popup``: the tkinter window that draws a panel and takes the pick;
- ``focus``: giving the keyboard back to the chat window when the popup closes;
- ``app``: global hotkeys, the worker thread and the Tk loop tied together.

Everything but ``popup``, ``focus`` and ``app.run`` works without a display.
"""
