"""Progress of a running experiment: in a Jupyter notebook, a block that updates in place with
the latest lines (no ipywidgets needed); elsewhere, the lines on stderr."""
import contextlib
import html
import sys

_LINES_SHOWN = 12


def _in_notebook():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in shell.config


@contextlib.contextmanager
def progress_display(title, enabled):
    """Yields the callable that receives each progress line (None when not enabled)."""
    if not enabled:
        yield None
        return
    if not _in_notebook():
        yield lambda line: print(line, file=sys.stderr, flush=True)
        return
    from IPython.display import HTML, display
    lines = []

    def page(state):
        shown = "\n".join(html.escape(line) for line in lines[-_LINES_SHOWN:])
        return HTML(f"<details open><summary>{html.escape(title)}: {state}</summary><pre>{shown}</pre></details>")

    handle = display(page("running"), display_id=True)

    def show(line):
        lines.append(line)
        handle.update(page("running"))

    try:
        yield show
    finally:
        handle.update(page("done" if sys.exc_info()[0] is None else "stopped"))
