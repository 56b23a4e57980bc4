-- The first schema. Portable SQL for SQLite and PostgreSQL: {id_column} is the one dialect difference (an
-- auto-numbered primary key), filled in by flutex.tutor.progress.migrations. Times are ISO 8601 text (UTC when
-- known), JSON is text. Statements end with a semicolon at the end of a line; no semicolon inside a statement.

CREATE TABLE students (
    id {id_column},
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);

CREATE TABLE plans (
    id {id_column},
    title TEXT NOT NULL,
    path TEXT NOT NULL,
    digest TEXT NOT NULL,
    UNIQUE (path, digest)
);

CREATE TABLE lessons (
    id {id_column},
    student_id BIGINT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    plan_id BIGINT NOT NULL REFERENCES plans (id),
    device TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    summary TEXT
);

CREATE INDEX lessons_by_student ON lessons (student_id, started);

CREATE TABLE attempts (
    id {id_column},
    lesson_id BIGINT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    notes INTEGER NOT NULL,
    clean_notes INTEGER NOT NULL,
    points INTEGER NOT NULL,
    possible INTEGER NOT NULL,
    errors TEXT NOT NULL,
    guided_notes INTEGER NOT NULL,
    help_requested BOOLEAN NOT NULL,
    UNIQUE (lesson_id, number)
);

CREATE TABLE decisions (
    attempt_id BIGINT PRIMARY KEY REFERENCES attempts (id) ON DELETE CASCADE,
    first_bar INTEGER NOT NULL,
    last_bar INTEGER NOT NULL,
    first_segment INTEGER NOT NULL,
    last_segment INTEGER NOT NULL,
    mode TEXT NOT NULL,
    force_permille INTEGER NOT NULL,
    tempo_bpm DOUBLE PRECISION NOT NULL,
    probe BOOLEAN NOT NULL,
    explanation TEXT
);

CREATE TABLE note_grades (
    id {id_column},
    attempt_id BIGINT NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    note_index INTEGER,
    errors TEXT NOT NULL,
    grade TEXT NOT NULL
);

CREATE INDEX note_grades_by_attempt ON note_grades (attempt_id);

CREATE TABLE review_cards (
    student_id BIGINT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    plan_digest TEXT NOT NULL,
    segment INTEGER NOT NULL,
    card TEXT NOT NULL,
    PRIMARY KEY (student_id, plan_digest, segment)
);

CREATE TABLE mastery (
    student_id BIGINT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    plan_digest TEXT NOT NULL,
    segment INTEGER NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (student_id, plan_digest, segment)
);

CREATE TABLE assignments (
    id {id_column},
    student_id BIGINT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    plan_path TEXT NOT NULL,
    due TEXT NOT NULL,
    criteria TEXT NOT NULL,
    created TEXT NOT NULL
);
