from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0003_verbose_names'),
    ]

    operations = [
        migrations.AlterField(
            model_name='ledgertransaction',
            name='kind',
            field=models.CharField(choices=[('payment', 'Payment'), ('credit_grant', 'Credit grant'), ('refund', 'Refund'), ('credit_revoke', 'Credit revocation'), ('account_credit', 'Account credit (plan change)'), ('credit_spent', 'Account credit spent')], max_length=20),
        ),
    ]
