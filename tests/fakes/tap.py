# tap.py: TAP output for the Python integration tests: ok() prints one
# "ok N - what" or "not ok N - what" (with detail as # lines), done()
# prints the plan and returns the exit status.
import sys

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
