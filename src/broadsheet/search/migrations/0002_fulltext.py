"""Full-text indexes over papers and author names, kept in step by the database itself.

SQLite: FTS5 external-content tables over papers_paper (title, abstract; deleted papers left out) and
papers_author (normalized_name), triggers for insert, update and delete, filled from existing rows.
PostgreSQL: a stored generated tsvector on papers_paper (title weight A, abstract weight B) with a GIN
index, and a GIN expression index on author names. Both directions run per vendor.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE search_paper_fts USING fts5(title, abstract, content='papers_paper', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS search_paper_fts_ai AFTER INSERT ON papers_paper "
    "WHEN new.is_deleted = 0 BEGIN "
    "INSERT INTO search_paper_fts(rowid, title, abstract) VALUES (new.id, new.title, new.abstract); "
    "END",
    "CREATE TRIGGER IF NOT EXISTS search_paper_fts_ad AFTER DELETE ON papers_paper "
    "WHEN old.is_deleted = 0 BEGIN "
    "INSERT INTO search_paper_fts(search_paper_fts, rowid, title, abstract) "
    "VALUES ('delete', old.id, old.title, old.abstract); "
    "END",
    "CREATE TRIGGER IF NOT EXISTS search_paper_fts_au AFTER UPDATE OF title, abstract, is_deleted "
    "ON papers_paper WHEN old.title IS NOT new.title OR old.abstract IS NOT new.abstract "
    "OR old.is_deleted IS NOT new.is_deleted BEGIN "
    "INSERT INTO search_paper_fts(search_paper_fts, rowid, title, abstract) "
    "SELECT 'delete', old.id, old.title, old.abstract WHERE old.is_deleted = 0; "
    "INSERT INTO search_paper_fts(rowid, title, abstract) "
    "SELECT new.id, new.title, new.abstract WHERE new.is_deleted = 0; "
    "END",
    "INSERT INTO search_paper_fts(rowid, title, abstract) "
    "SELECT id, title, abstract FROM papers_paper WHERE is_deleted = 0",
    # names are only matched, never ranked or quoted as phrases: no positions, no lengths (cheaper writes)
    "CREATE VIRTUAL TABLE search_author_fts USING fts5(normalized_name, content='papers_author', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2', detail=none, columnsize=0)",
    "CREATE TRIGGER IF NOT EXISTS search_author_fts_ai AFTER INSERT ON papers_author BEGIN "
    "INSERT INTO search_author_fts(rowid, normalized_name) VALUES (new.id, new.normalized_name); "
    "END",
    "CREATE TRIGGER IF NOT EXISTS search_author_fts_ad AFTER DELETE ON papers_author BEGIN "
    "INSERT INTO search_author_fts(search_author_fts, rowid, normalized_name) "
    "VALUES ('delete', old.id, old.normalized_name); "
    "END",
    "CREATE TRIGGER IF NOT EXISTS search_author_fts_au AFTER UPDATE OF normalized_name ON papers_author "
    "WHEN old.normalized_name IS NOT new.normalized_name BEGIN "
    "INSERT INTO search_author_fts(search_author_fts, rowid, normalized_name) "
    "VALUES ('delete', old.id, old.normalized_name); "
    "INSERT INTO search_author_fts(rowid, normalized_name) VALUES (new.id, new.normalized_name); "
    "END",
    "INSERT INTO search_author_fts(search_author_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_author_fts_au",
    "DROP TRIGGER IF EXISTS search_author_fts_ad",
    "DROP TRIGGER IF EXISTS search_author_fts_ai",
    "DROP TABLE IF EXISTS search_author_fts",
    "DROP TRIGGER IF EXISTS search_paper_fts_au",
    "DROP TRIGGER IF EXISTS search_paper_fts_ad",
    "DROP TRIGGER IF EXISTS search_paper_fts_ai",
    "DROP TABLE IF EXISTS search_paper_fts",
]
# PostgreSQL's english configuration keeps accents: fold the common accented Latin letters (lower case)
# to their base letter, as the query side does (SQLite's remove_diacritics does it in the tokenizer).
ACCENTED = (
    "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžſơưǎǐǒǔǖǘǚ"
    "ǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳḁḃḅḇḉḋḍḏḑḓḕḗḙḛḝḟḡḣḥḧḩḫḭḯḱḳḵḷḹḻḽḿṁṃṅṇṉṋṍṏṑṓṕṗṙṛṝṟṡṣṥṧṩṫṭṯṱ"
    "ṳṵṷṹṻṽṿẁẃẅẇẉẋẍẏẑẓẕẖẗẘẙẛạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
)
UNACCENTED = (
    "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzsouaiouuuu"
    "uaagkoojgnaaaeeiioorruusthaeooooyabbbcdddddeeeeefghhhhhiikkkllllmmmnnnnoooopprrrrssssstttt"
    "uuuuuvvwwwwwxxyzzzhtwysaaaaaaaaaaaaeeeeeeeeiioooooooooooouuuuuuuyyyy"
)
FOLD = "translate(lower(coalesce({column}, '')), '" + ACCENTED + "', '" + UNACCENTED + "')"
POSTGRES_FORWARD = [
    "ALTER TABLE papers_paper ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english'::regconfig, " + FOLD.format(column="title") + "), 'A') || "
    "setweight(to_tsvector('english'::regconfig, " + FOLD.format(column="abstract") + "), 'B')) STORED",
    "CREATE INDEX search_paper_vector_idx ON papers_paper USING gin (search_vector)",
    "CREATE INDEX search_author_name_idx ON papers_author "
    "USING gin (to_tsvector('simple'::regconfig, normalized_name))",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS search_author_name_idx",
    "DROP INDEX IF EXISTS search_paper_vector_idx",
    "ALTER TABLE papers_paper DROP COLUMN IF EXISTS search_vector",
]
STATEMENTS = {
    "sqlite": (SQLITE_FORWARD, SQLITE_BACKWARD),
    "postgresql": (POSTGRES_FORWARD, POSTGRES_BACKWARD),
}


def run_statements(forward):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in STATEMENTS:
            raise RuntimeError(f"full-text search supports SQLite and PostgreSQL, not {vendor}")
        for statement in STATEMENTS[vendor][0 if forward else 1]:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("papers", "0001_initial"),
        ("search", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(run_statements(True), run_statements(False)),
    ]
