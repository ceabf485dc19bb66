#!/bin/sh
# Runs once, when the Postgres volume is new (the image's /docker-entrypoint-initdb.d):
# one database, and one schema and login role per service, as atelier_devkit.postgres makes
# them for `make up`. A role owns its schema and nothing else; PUBLIC may not connect or create.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v auth_pw="$AUTH_DB_PASSWORD" -v payments_pw="$PAYMENTS_DB_PASSWORD" \
  -v pre_inference_pw="$PRE_INFERENCE_DB_PASSWORD" <<'SQL'
CREATE ROLE atelier_auth LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'auth_pw';
CREATE ROLE atelier_payments LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'payments_pw';
CREATE ROLE atelier_pre_inference LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pre_inference_pw';
CREATE DATABASE atelier;
REVOKE ALL ON DATABASE atelier FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE atelier TO atelier_auth, atelier_payments, atelier_pre_inference;
ALTER ROLE atelier_auth IN DATABASE atelier SET search_path = auth;
ALTER ROLE atelier_payments IN DATABASE atelier SET search_path = payments;
ALTER ROLE atelier_pre_inference IN DATABASE atelier SET search_path = pre_inference;
\connect atelier
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA auth AUTHORIZATION atelier_auth;
CREATE SCHEMA payments AUTHORIZATION atelier_payments;
CREATE SCHEMA pre_inference AUTHORIZATION atelier_pre_inference;
REVOKE ALL ON SCHEMA auth, payments, pre_inference FROM PUBLIC;
SQL
