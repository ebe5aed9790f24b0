dist_man_MANS += man/turnpike.conf.5 man/turnpiked.8 man/turnpikectl.8 man/turnpike-bench.1

# make check: mandoc -T lint (turnpiked(8) and the others stay clean).
TESTS += man/lint.sh
EXTRA_DIST += man/lint.sh
