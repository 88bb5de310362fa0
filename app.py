"""Start the Tanya Netralitas web app on http://127.0.0.1:7860 (see README)."""

from assistant.ui import launch

if __name__ == "__main__":
    launch()
