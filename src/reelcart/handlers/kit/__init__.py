"""What every feature's handlers share: the typed context (``context``), the one error
handler and its translator (``errors``), the Telegram adapter of the services' Messenger
port (``messenger``), callback data codecs (``callbacks``), questions awaiting a typed
answer (``prompts``), a message edited as work goes on (``status``), command menus
(``menus``) and texts cut to Telegram's limits (``text``).

Nothing here imports a feature package.
"""
