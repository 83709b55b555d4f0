# cdc_plugin — PGXS build of the extension (C boundary + C++17 core).
#
#   make && make install      build and install into the pg_config found on PATH
#   make test                 every suite: unit (GoogleTest), pg_regress + pgTAP, TAP
#   make demo                 throwaway cluster + workload, decoded events shown
#
# The version lives only in cdc_plugin.control; everything else reads it here.

EXTENSION  = cdc_plugin
EXTVERSION = $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = cdc_plugin
PROTO      = src/proto/cdc/v1/envelope.proto
PROTO_GEN  = src/gen/cdc/v1/envelope.pb.cc src/gen/cdc/v1/envelope.pb.h
CORE_SRCS  = $(sort $(wildcard src/core/*.cpp))
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c))) \
             $(CORE_SRCS:.cpp=.o) \
             src/gen/cdc/v1/envelope.pb.o

DATA       = sql/$(EXTENSION)--$(EXTVERSION).sql
EXTRA_CLEAN = src/gen results regression.diffs regression.out tmp_check tmp_check_iso log

# pg_regress suites, one feature each (sql/<name>.sql <-> expected/<name>.out);
# run on a temporary instance configured by test/regress.conf.
REGRESS    = setup sql_api privileges snapshot_api basic_dml replica_identity no_primary_key types round_trip \
             toast truncate messages savepoints spill ddl relation_cache table_filters options \
             transaction_events corrupt_input memory schema_guard schema_events publish outbox_table \
             stop_publishing
REGRESS_OPTS = --temp-config=test/regress.conf --temp-instance=tmp_check

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -Isrc/core -Isrc/gen -DCDC_PLUGIN_VERSION='"$(EXTVERSION)"'
PG_CXXFLAGS = -std=c++17 -fPIC -fvisibility=hidden
SHLIB_LINK = -lrdkafka -lprotobuf -lstdc++

# Debian's server is built with LLVM JIT; bitcode for C++ sources would need
# clang with our C++ flags and buys nothing for an output plugin.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
# No server headers yet (fresh machine): only deps, test and demo, which
# install them first, can run.
all:
	@echo "PostgreSQL server headers not found: run 'make deps' first (make test and make demo do it themselves)" >&2
	@exit 1
endif


# The JSON renderer runs for every message the worker publishes with
# cdc_plugin.value_format = json; -O3 makes it about 15% faster
# (bench/e2e, row cdc-json).
src/core/json_render.o: override CXXFLAGS += -O3

# the mock Kafka broker and the consumer/verifier used by tests, demo, bench
include tools/kafka/tools.mk
EXTRA_CLEAN += $(KAFKA_TOOLS_CLEAN)

$(PROTO_GEN) &: $(PROTO)
	@mkdir -p src/gen
	protoc -Isrc/proto --cpp_out=src/gen $(PROTO)

# Everything that may include the generated header waits for it.
$(CORE_SRCS:.cpp=.o) $(patsubst %.c,%.o,$(wildcard src/*.c)): | $(PROTO_GEN)
# A changed header rebuilds what may include it (structs cross the C/C++ line).
$(CORE_SRCS:.cpp=.o) $(patsubst %.c,%.o,$(wildcard src/*.c)): $(wildcard src/*.h src/core/*.h src/core/*.hpp)

.PHONY: test demo deps unit print-regress
deps:
	bash tools/install-deps.sh

test:
	bash test/run_all.sh

unit:
	bash test/run_unit.sh

demo:
	bash tools/demo.sh

print-regress:
	@echo $(REGRESS)
