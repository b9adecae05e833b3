#!/bin/sh
# valgrind.sh PROGRAM ARGS...: runs PROGRAM under valgrind when it is a
# compiled program (a memory error or a definite leak ends it with status
# 99, which fails the test), and as it is when it is a script.  ./dev
# test's valgrind pass makes it the tests' LOG_COMPILER, and wraps sta in
# it for the extraction tests (STA_UNDER_TEST).
if [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; then
	exec valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite --show-leak-kinds=definite "$@"
fi
exec "$@"
