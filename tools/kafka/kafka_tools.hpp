/*
 * kafka_tools.hpp — helpers shared by the subcommands of cdc_kafka_consume:
 * bytea text (\x<hex>, \N) encoding and decoding, the clock, the stop flag
 * set by SIGINT/SIGTERM, and the subcommand entry points. Test tooling
 * only: nothing here is linked into the extension.
 */
#ifndef CDC_KAFKA_TOOLS_HPP
#define CDC_KAFKA_TOOLS_HPP

#include <csignal>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kafka_tools {

/* Set by the SIGINT/SIGTERM handler; loops poll it. */
extern volatile std::sig_atomic_t g_stop;

/* Installs the handler that sets g_stop (without SA_RESTART). */
void		install_stop_handler();

/* Monotonic milliseconds. */
int64_t		now_ms();

/* Appends data as lowercase hex digits. */
void		append_hex(std::string &out, std::string_view data);

/*
 * Decodes one bytea text field: "\N" (NULL), "\x<hex>" or "\\x<hex>" (the
 * latter is what COPY ... TO STDOUT prints). Returns false for anything
 * else, with a reason in err.
 */
bool		decode_bytea_field(std::string_view field, bool &is_null,
							   std::string &out, std::string &err);

/* Splits a line on tabs (fields may be empty). */
std::vector<std::string_view> split_tabs(std::string_view line);

/* Subcommands; each returns the process exit status. */
int			run_consume(int argc, char **argv);
int			run_produce(int argc, char **argv);
int			run_verify(int argc, char **argv);

}							/* namespace kafka_tools */

#endif							/* CDC_KAFKA_TOOLS_HPP */
