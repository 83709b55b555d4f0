/*
 * test_support.hpp — builders shared by the core's unit tests.
 *
 * cdc_value/cdc_column hold borrowed pointers; the builders here point into
 * storage the caller keeps alive (string literals, std::string, std::deque).
 */
#ifndef CDC_TEST_SUPPORT_HPP
#define CDC_TEST_SUPPORT_HPP

#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "cdc_core.h"

namespace cdc_test {

inline cdc_value
null_value()
{
	cdc_value v{};

	v.kind = CDC_VALUE_NULL;
	return v;
}

inline cdc_value
toast_value()
{
	cdc_value v{};

	v.kind = CDC_VALUE_UNCHANGED_TOAST;
	return v;
}

inline cdc_value
bool_value(bool b)
{
	cdc_value v{};

	v.kind = CDC_VALUE_BOOL;
	v.u.b = b;
	return v;
}

inline cdc_value
int_value(int64_t i)
{
	cdc_value v{};

	v.kind = CDC_VALUE_INT;
	v.u.i = i;
	return v;
}

inline cdc_value
float4_value(float f)
{
	cdc_value v{};

	v.kind = CDC_VALUE_FLOAT4;
	v.u.f4 = f;
	return v;
}

inline cdc_value
float8_value(double d)
{
	cdc_value v{};

	v.kind = CDC_VALUE_FLOAT8;
	v.u.f8 = d;
	return v;
}

/* NUMERIC, TEXT, BYTES, UUID, JSON, JSONB, ENUM: s must outlive the value. */
inline cdc_value
str_value(cdc_value_kind kind, std::string_view s)
{
	cdc_value v{};

	v.kind = kind;
	v.u.str.data = s.data();
	v.u.str.len = s.size();
	return v;
}

inline cdc_value
date_value(int32_t days)
{
	cdc_value v{};

	v.kind = CDC_VALUE_DATE;
	v.u.date = days;
	return v;
}

/* TIME, TIMESTAMP, TIMESTAMPTZ */
inline cdc_value
micros_value(cdc_value_kind kind, int64_t us)
{
	cdc_value v{};

	v.kind = kind;
	v.u.micros = us;
	return v;
}

inline cdc_value
timetz_value(int64_t us, int32_t offset_seconds)
{
	cdc_value v{};

	v.kind = CDC_VALUE_TIMETZ;
	v.u.timetz.micros = us;
	v.u.timetz.offset_seconds = offset_seconds;
	return v;
}

inline cdc_value
interval_value(int32_t months, int32_t days, int64_t us)
{
	cdc_value v{};

	v.kind = CDC_VALUE_INTERVAL;
	v.u.interval.months = months;
	v.u.interval.days = days;
	v.u.interval.micros = us;
	return v;
}

inline cdc_value
array_value(const cdc_array *a)
{
	cdc_value v{};

	v.kind = CDC_VALUE_ARRAY;
	v.u.array = a;
	return v;
}

inline cdc_value
record_value(const cdc_row *r)
{
	cdc_value v{};

	v.kind = CDC_VALUE_RECORD;
	v.u.record = r;
	return v;
}

inline cdc_column
column(const char *name, const char *type, uint32_t oid, cdc_value v)
{
	cdc_column c{};

	c.name = name;
	c.type_name = type;
	c.type_oid = oid;
	c.value = v;
	return c;
}

inline cdc_row
row_of(const std::vector<cdc_column> &cols)
{
	cdc_row r{};

	r.columns = cols.empty() ? nullptr : cols.data();
	r.ncolumns = cols.size();
	return r;
}

/* An array over elems with the given dims (lower bounds 1). */
inline cdc_array
array_of(const std::vector<cdc_value> &elems, std::vector<int> dims)
{
	cdc_array a{};

	a.ndims = static_cast<int>(dims.size());
	for (size_t i = 0; i < dims.size() && i < 6; i++)
	{
		a.dims[i] = dims[i];
		a.lower_bounds[i] = 1;
	}
	a.elements = elems.empty() ? nullptr : elems.data();
	a.nelements = elems.size();
	return a;
}

inline cdc_event
event_of(cdc_op op)
{
	cdc_event e{};

	e.op = op;
	return e;
}

inline std::string
hex(std::string_view bytes)
{
	static const char digits[] = "0123456789abcdef";
	std::string out;

	for (unsigned char c : bytes)
	{
		if (!out.empty())
			out.push_back(' ');
		out.push_back(digits[c >> 4]);
		out.push_back(digits[c & 15]);
	}
	return out;
}

/* Proleptic Gregorian days since 1970-01-01, computed by brute force over
 * whole 400-year cycles (146097 days each) plus a day-by-day remainder;
 * deliberately independent of the core's calendar code. */
inline int64_t
days_from_ymd(int64_t y, int m, int d)
{
	auto		leap = [](int64_t yr) {
		int64_t		r = ((yr % 400) + 400) % 400;

		return (r % 4 == 0 && r % 100 != 0) || r == 0;
	};
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t		cycles = 0;

	/* bring y into [1970, 2370) */
	while (y < 1970)
	{
		y += 400;
		cycles--;
	}
	while (y >= 2370)
	{
		y -= 400;
		cycles++;
	}
	int64_t		days = cycles * 146097;

	for (int64_t yr = 1970; yr < y; yr++)
		days += leap(yr) ? 366 : 365;
	for (int mo = 1; mo < m; mo++)
		days += mdays[mo - 1] + ((mo == 2 && leap(y)) ? 1 : 0);
	return days + d - 1;
}

}							/* namespace cdc_test */

#endif							/* CDC_TEST_SUPPORT_HPP */
