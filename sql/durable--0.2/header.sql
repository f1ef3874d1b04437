-- durable 0.2: a fresh install. Assembled by pgext/Makefile from
-- sql/durable--0.2/header.sql, schema/*.sql (tables, indexes, sequences) and
-- api/*.sql (functions, triggers, comments, grants). See sql/README.md.
\echo Use "CREATE EXTENSION durable" to load this file. \quit
