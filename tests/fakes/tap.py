# tap.py: TAP output for the Python integration tests: ok() prints one
# "ok N - what" or "not ok N - what" (with detail as # lines), done()
# prints the plan and returns the exit status; finish() ends a test (its
# cleanups, the plan, its temporary folder) and run_main() runs a test's
# main() with an exception counted as a failure, then finishes it.
import os
import shutil
import sys
import traceback

count = 0
failed = 0


def ok(cond, desc, detail=""):
    global count, failed
    count += 1
    print(f"{'ok' if cond else 'not ok'} {count} - {desc}")
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:25]:
            print(f"#   {line}")
    sys.stdout.flush()
    return cond


def done():
    print(f"1..{count}")
    return 1 if failed else 0


def finish(folder, cleanups=()):
    """Runs cleanups (callables, the last added first; their errors are
    ignored), prints the plan, removes folder if every test passed and
    STA_KEEP_TMP is not set (else prints "# kept folder"), and returns the
    exit status.  cleanups is read only now, so a test may pass a list it
    appends to as it starts things."""
    for c in reversed(list(cleanups)):
        try:
            c()
        except Exception:
            pass
    status = done()
    if status == 0 and os.environ.get("STA_KEEP_TMP") is None:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"# kept {folder}")
    sys.stdout.flush()
    return status


def run_main(main, folder, cleanups=()):
    """Runs main(); an exception from it is one more failed test, "test ran
    to the end", with the traceback; then finish() and exit."""
    try:
        main()
    except Exception as e:  # report, then fail
        ok(False, "test ran to the end", traceback.format_exc() + str(e))
    finally:
        status = finish(folder, cleanups)
    sys.exit(status)
