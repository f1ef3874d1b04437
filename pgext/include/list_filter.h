/*
 * list_filter.h: the list filter language of list_workflows and
 * count_workflows (Temporal's visibility query syntax), shared by its lexer
 * (list_filter_lex.c) and its compiler (list_filter.c).
 */
#ifndef DURABLE_LIST_FILTER_H
#define DURABLE_LIST_FILTER_H

#include "postgres.h"

/* limits: a filter past them is refused (54000), never half-read */
#define FILTER_MAX_BYTES 32768
#define FILTER_MAX_DEPTH 64
#define FILTER_MAX_VALUES 1000
#define FILTER_MAX_ORDER_KEYS 8

typedef enum FilterTokenKind
{
	FT_EOF,
	FT_WORD,					/* a name or a keyword, unquoted */
	FT_QUOTED_NAME,				/* `any name` */
	FT_STRING,					/* 'text' or "text", unescaped */
	FT_NUMBER,
	FT_LPAREN,
	FT_RPAREN,
	FT_COMMA,
	FT_COMPARE					/* = != <> < <= > >= */
} FilterTokenKind;

typedef struct FilterToken
{
	FilterTokenKind kind;
	int			pos;			/* byte offset in the filter */
	char	   *text;			/* palloc'd: the name, string, number or operator */
} FilterToken;

typedef struct FilterTokens
{
	const char *filter;			/* the whole filter, for error positions */
	FilterToken *tokens;		/* ends with one FT_EOF */
	int			count;
} FilterTokens;

extern void FilterTokenize(const char *filter, FilterTokens *out);

/* Raises a filter error: message, the position of the fault, a hint. */
extern pg_attribute_noreturn() void FilterError(const char *filter, int pos, int sqlstate,
												 const char *hint, const char *fmt,...) pg_attribute_printf(5, 6);

#endif							/* DURABLE_LIST_FILTER_H */
