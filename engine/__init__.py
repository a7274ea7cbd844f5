"""The analysis and drawing, with no Telegram and no SQLite.

ONNX Runtime's Linux wheels (1.32 on) send usage telemetry to Microsoft and keep a device id under
~/.cache and a session file in the temp folder unless told not to before it starts; the bot promises to
send nothing about its users anywhere, so importing the engine turns that off for this process and the
workers it starts (they import the engine too).
"""

import os

os.environ["ORT_DISABLE_TELEMETRY"] = "1"
