/*
 * core_only.hpp — guard included first by every C++ core source file.
 *
 * The C++ core is compiled without any PostgreSQL header: PostgreSQL's
 * headers define macros (elog, ereport, PG_TRY, ...) and longjmp-based
 * error handling that must never mix with C++ exceptions and destructors.
 * Everything PostgreSQL-specific stays on the C side of cdc_core.h.
 */
#ifndef CDC_CORE_ONLY_HPP
#define CDC_CORE_ONLY_HPP

#ifdef POSTGRES_H
#error "cdc_plugin C++ core must not include PostgreSQL headers (postgres.h was included)"
#endif
#ifdef POSTGRES_FE_H
#error "cdc_plugin C++ core must not include PostgreSQL headers (postgres_fe.h was included)"
#endif

#ifndef __cplusplus
#error "core_only.hpp is for the C++ core only"
#endif

#endif /* CDC_CORE_ONLY_HPP */
