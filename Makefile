# The two commands of the README. Both install what they lack first.
.PHONY: run test bootstrap

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap
	.venv/bin/pipelet run

test: bootstrap
	scripts/test.sh
