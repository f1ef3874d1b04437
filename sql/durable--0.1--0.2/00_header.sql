-- durable 0.1 -> 0.2. Assembled by pgext/Makefile from the pieces in
-- sql/durable--0.1--0.2/*.sql (what changes in the tables, and the functions
-- that 0.2 drops or whose signature changes), followed by every piece of
-- sql/durable--0.2/api/, which re-creates all functions with CREATE OR REPLACE.
-- See sql/README.md.
\echo Use "ALTER EXTENSION durable UPDATE TO '0.2'" to load this file. \quit
