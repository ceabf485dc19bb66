"""Database-level guarantees of the ledger, whatever code (or person) talks to it:
rows cannot be updated or deleted, and each transaction balances to zero per unit
(checked at commit by a deferred constraint trigger, so entries can be inserted one by one).
TRUNCATE stays possible for test teardown; the service role owns the schema anyway."""
from django.db import migrations

FORWARD = [
    """
    CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    """CREATE TRIGGER ledger_transaction_append_only BEFORE UPDATE OR DELETE ON ledger_ledgertransaction
       FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()""",
    """CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_ledgerentry
       FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()""",
    """
    CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE unbalanced text;
    BEGIN
        SELECT unit INTO unbalanced FROM ledger_ledgerentry
         WHERE transaction_id = NEW.transaction_id GROUP BY unit HAVING sum(amount) <> 0 LIMIT 1;
        IF unbalanced IS NOT NULL THEN
            RAISE EXCEPTION 'ledger transaction % does not balance in %', NEW.transaction_id, unbalanced
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$
    """,
    """CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_ledgerentry
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced()""",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_ledgerentry",
    "DROP FUNCTION IF EXISTS ledger_check_balanced()",
    "DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_ledgerentry",
    "DROP TRIGGER IF EXISTS ledger_transaction_append_only ON ledger_ledgertransaction",
    "DROP FUNCTION IF EXISTS ledger_refuse_change()",
]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD)]
