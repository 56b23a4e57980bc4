-- The learner memory: short facts about a student that the tutor's agent keeps between lessons (what helps them,
-- what they asked for). Only the newest few are kept per student (flutex.tutor.progress.store NOTES_KEPT); forgetting
-- the student deletes them with everything else (ON DELETE CASCADE).

CREATE TABLE learner_notes (
    id {id_column},
    student_id BIGINT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    fact TEXT NOT NULL,
    created TEXT NOT NULL
);

CREATE INDEX learner_notes_by_student ON learner_notes (student_id, id);
