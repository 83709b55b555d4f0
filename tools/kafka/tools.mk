# tools/kafka/tools.mk — Kafka test tools, included by the main Makefile.
#
#   make kafka-tools     build tools/kafka/cdc_mock_broker and cdc_kafka_consume
#   bash tools/kafka/selftest.sh   check them (no PostgreSQL needed)
#
# cdc_kafka_consume links the extension's own core objects (the envelope
# renderer, the topic naming and the generated protobuf classes), so it
# renders exactly what cdc_plugin.to_json() renders and expects each table
# on exactly the topic the worker names. These binaries are never installed.

# Including this file must not change the including Makefile's default goal.
kafka_tools_saved_goal := $(.DEFAULT_GOAL)

KAFKA_TOOLS_DIR       := tools/kafka
KAFKA_TOOLS_BROKER    := $(KAFKA_TOOLS_DIR)/cdc_mock_broker
KAFKA_TOOLS_CONSUME   := $(KAFKA_TOOLS_DIR)/cdc_kafka_consume
KAFKA_TOOLS_CORE_OBJS := src/core/json_render.o src/core/core_util.o src/core/topic_name.o \
                         src/gen/cdc/v1/envelope.pb.o
KAFKA_TOOLS_CXX_OBJS  := $(KAFKA_TOOLS_DIR)/kafka_consume.o $(KAFKA_TOOLS_DIR)/verify.o
KAFKA_TOOLS_C_OBJS    := $(KAFKA_TOOLS_DIR)/mock_broker.o
KAFKA_TOOLS_CLEAN     := $(KAFKA_TOOLS_BROKER) $(KAFKA_TOOLS_CONSUME) \
                         $(KAFKA_TOOLS_C_OBJS) $(KAFKA_TOOLS_CXX_OBJS)

# Own flags: PGXS's CFLAGS are for server modules, not for programs.
KAFKA_TOOLS_CC       ?= $(or $(CC),cc)
KAFKA_TOOLS_CXX      ?= $(or $(CXX),c++)
KAFKA_TOOLS_CFLAGS   ?= -std=gnu11 -O2 -g -Wall -Wextra
KAFKA_TOOLS_CXXFLAGS ?= -std=c++17 -O2 -g -Wall -Wextra
KAFKA_TOOLS_CPPFLAGS := -Isrc/core -Isrc/gen

.PHONY: kafka-tools
kafka-tools: $(KAFKA_TOOLS_BROKER) $(KAFKA_TOOLS_CONSUME)

$(KAFKA_TOOLS_BROKER): $(KAFKA_TOOLS_C_OBJS)
	$(KAFKA_TOOLS_CC) $(KAFKA_TOOLS_CFLAGS) -o $@ $^ -lrdkafka -lpthread

$(KAFKA_TOOLS_CONSUME): $(KAFKA_TOOLS_CXX_OBJS) $(KAFKA_TOOLS_CORE_OBJS)
	$(KAFKA_TOOLS_CXX) $(KAFKA_TOOLS_CXXFLAGS) -o $@ $^ -lrdkafka -lprotobuf -lpthread

$(KAFKA_TOOLS_DIR)/mock_broker.o: $(KAFKA_TOOLS_DIR)/mock_broker.c
	$(KAFKA_TOOLS_CC) $(KAFKA_TOOLS_CFLAGS) -c -o $@ $<

# The generated header comes from the main Makefile's protoc rule.
$(KAFKA_TOOLS_CXX_OBJS): $(KAFKA_TOOLS_DIR)/%.o: $(KAFKA_TOOLS_DIR)/%.cpp \
		$(KAFKA_TOOLS_DIR)/kafka_tools.hpp src/core/json_render.hpp src/core/topic_name.hpp \
		src/gen/cdc/v1/envelope.pb.h
	$(KAFKA_TOOLS_CXX) $(KAFKA_TOOLS_CPPFLAGS) $(KAFKA_TOOLS_CXXFLAGS) -c -o $@ $<

.DEFAULT_GOAL := $(kafka_tools_saved_goal)
