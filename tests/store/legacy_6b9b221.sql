-- A database made by PigWeight at commit 6b9b221, before migrations: the open_database of
-- `git show 6b9b221:pigweight/store/db.py` on an empty DATA_DIR, a few rows inserted, then
-- sqlite3's .dump. tests/store/test_migrations.py opens it as today's version would.
BEGIN TRANSACTION;
CREATE TABLE api_tokens (
	id INTEGER NOT NULL,
	token_hash VARCHAR(64) NOT NULL,
	user_id INTEGER NOT NULL,
	label VARCHAR(64) NOT NULL,
	created_ts FLOAT NOT NULL,
	revoked_ts FLOAT,
	PRIMARY KEY (id),
	UNIQUE (token_hash),
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE TABLE batches (
	id INTEGER NOT NULL,
	name VARCHAR(64) NOT NULL,
	camera VARCHAR(32) NOT NULL,
	expected_head INTEGER,
	target_avg_kg FLOAT,
	note TEXT NOT NULL,
	started_ts FLOAT NOT NULL,
	closed_ts FLOAT,
	PRIMARY KEY (id)
);
INSERT INTO "batches" VALUES(1,'Pen 1, Nov','pen1',30,NULL,'',1795683000.0,NULL);
CREATE TABLE camera_models (
	id INTEGER NOT NULL,
	camera VARCHAR(32) NOT NULL,
	model_id VARCHAR(64) NOT NULL,
	ts FLOAT NOT NULL,
	user VARCHAR(64) NOT NULL,
	action VARCHAR(16) NOT NULL,
	PRIMARY KEY (id)
);
INSERT INTO "camera_models" VALUES(1,'pen1','m-1',1795683000.0,'anna','activate');
CREATE TABLE count_samples (
	id INTEGER NOT NULL,
	camera VARCHAR(32) NOT NULL,
	ts FLOAT NOT NULL,
	count INTEGER NOT NULL,
	stable_count INTEGER,
	confidence FLOAT NOT NULL,
	PRIMARY KEY (id)
);
INSERT INTO "count_samples" VALUES(1,'pen1',1795683600.0,19,19,0.93);
INSERT INTO "count_samples" VALUES(2,'pen1',1795683601.0,20,NULL,0.5);
CREATE TABLE label_frames (
	id INTEGER NOT NULL,
	camera VARCHAR(32) NOT NULL,
	ts FLOAT NOT NULL,
	added_ts FLOAT NOT NULL,
	reason VARCHAR(32) NOT NULL,
	file VARCHAR(255) NOT NULL,
	bytes INTEGER NOT NULL,
	width INTEGER NOT NULL,
	height INTEGER NOT NULL,
	model_count INTEGER,
	typed_count INTEGER,
	confidence FLOAT,
	source_name VARCHAR(255),
	infrared BOOLEAN,
	PRIMARY KEY (id)
);
CREATE TABLE label_versions (
	id INTEGER NOT NULL,
	frame_id INTEGER NOT NULL,
	version INTEGER NOT NULL,
	boxes TEXT NOT NULL,
	user VARCHAR(64) NOT NULL,
	ts FLOAT NOT NULL,
	added INTEGER NOT NULL,
	removed INTEGER NOT NULL,
	moved INTEGER NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(frame_id) REFERENCES label_frames (id)
);
CREATE TABLE training_jobs (
	id INTEGER NOT NULL,
	camera VARCHAR(32) NOT NULL,
	state VARCHAR(16) NOT NULL,
	steps INTEGER NOT NULL,
	imgsz INTEGER NOT NULL,
	base_model VARCHAR(64) NOT NULL,
	folder VARCHAR(255) NOT NULL,
	train_frames INTEGER NOT NULL,
	held_out_frames INTEGER NOT NULL,
	started_ts FLOAT NOT NULL,
	finished_ts FLOAT,
	user VARCHAR(64) NOT NULL,
	pid INTEGER,
	message TEXT,
	model_id VARCHAR(64),
	resumes INTEGER NOT NULL,
	train_infrared INTEGER,
	held_out_infrared INTEGER,
	PRIMARY KEY (id)
);
CREATE TABLE user_sessions (
	token_hash VARCHAR(64) NOT NULL,
	user_id INTEGER NOT NULL,
	created_ts FLOAT NOT NULL,
	expires_ts FLOAT NOT NULL,
	PRIMARY KEY (token_hash),
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE TABLE users (
	id INTEGER NOT NULL,
	name VARCHAR(64) NOT NULL,
	role VARCHAR(16) NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	created_ts FLOAT NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (name)
);
INSERT INTO "users" VALUES(1,'anna','admin','$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g',1795683000.0);
CREATE TABLE video_files (
	id INTEGER NOT NULL,
	name VARCHAR(255) NOT NULL,
	path VARCHAR(4096) NOT NULL,
	source VARCHAR(16) NOT NULL,
	size_bytes BIGINT NOT NULL,
	container VARCHAR(16) NOT NULL,
	codec VARCHAR(32) NOT NULL,
	width INTEGER NOT NULL,
	height INTEGER NOT NULL,
	fps FLOAT NOT NULL,
	duration_s FLOAT NOT NULL,
	start_s FLOAT NOT NULL,
	frames INTEGER NOT NULL,
	keyframes TEXT NOT NULL,
	truncated BOOLEAN NOT NULL,
	browser_playable BOOLEAN NOT NULL,
	added_ts FLOAT NOT NULL,
	index_state VARCHAR(16) NOT NULL,
	index_error TEXT,
	indexed_until_s FLOAT NOT NULL,
	samples_done INTEGER NOT NULL,
	samples_total INTEGER NOT NULL,
	zone TEXT,
	PRIMARY KEY (id),
	UNIQUE (path)
);
INSERT INTO "video_files" VALUES(1,'nvr.mp4','/srv/nvr/nvr.mp4','register',11811160064,'mp4','h264',1920,1080,25.0,3600.5,0.0,90012,'[0.0,2.0]',0,1,1795683000.0,'done',NULL,3600.5,2,2,NULL);
CREATE TABLE video_samples (
	video_id INTEGER NOT NULL,
	t FLOAT NOT NULL,
	count INTEGER NOT NULL,
	confidence FLOAT NOT NULL,
	outlines TEXT NOT NULL,
	on_demand BOOLEAN NOT NULL,
	PRIMARY KEY (video_id, t),
	FOREIGN KEY(video_id) REFERENCES video_files (id)
);
INSERT INTO "video_samples" VALUES(1,2.0,12,0.8,'[]',0);
CREATE TABLE weight_record_confirmations (
	record_id INTEGER NOT NULL,
	ts FLOAT NOT NULL,
	PRIMARY KEY (record_id),
	FOREIGN KEY(record_id) REFERENCES weight_records (id)
);
CREATE TABLE weight_record_deletions (
	record_id INTEGER NOT NULL,
	ts FLOAT NOT NULL,
	reason TEXT NOT NULL,
	PRIMARY KEY (record_id),
	FOREIGN KEY(record_id) REFERENCES weight_records (id)
);
INSERT INTO "weight_record_deletions" VALUES(2,1795683800.0,'typo');
CREATE TABLE weight_records (
	id INTEGER NOT NULL,
	ts FLOAT NOT NULL,
	created_ts FLOAT NOT NULL,
	timezone VARCHAR(64) NOT NULL,
	local_time VARCHAR(32) NOT NULL,
	local_date VARCHAR(8) NOT NULL,
	camera VARCHAR(32) NOT NULL,
	count INTEGER NOT NULL,
	count_source VARCHAR(8) NOT NULL,
	confidence FLOAT,
	total_weight_kg FLOAT NOT NULL,
	avg_weight_kg FLOAT NOT NULL,
	note TEXT NOT NULL,
	segmenter VARCHAR(64),
	snapshot VARCHAR(255),
	corrects_id INTEGER,
	idempotency_key VARCHAR(128),
	request_hash VARCHAR(64),
	weight_source VARCHAR(8) DEFAULT 'manual' NOT NULL,
	evidence VARCHAR(255),
	batch_id INTEGER,
	PRIMARY KEY (id),
	UNIQUE (corrects_id),
	FOREIGN KEY(corrects_id) REFERENCES weight_records (id),
	UNIQUE (idempotency_key),
	FOREIGN KEY(batch_id) REFERENCES batches (id)
);
INSERT INTO "weight_records" VALUES(1,1795683600.0,1795683600.5,'Europe/Moscow','2026-11-26T12:00:00+03:00','20261126','pen1',30,'manual',NULL,412.5,13.75,'old',NULL,NULL,NULL,'k-1','abababababababababababababababababababababababababababababababab','manual',NULL,NULL);
INSERT INTO "weight_records" VALUES(2,1795683600.0,1795683700.0,'Europe/Moscow','2026-11-26T12:00:00+03:00','20261126','pen1',29,'manual',NULL,412.5,14.224,'recount',NULL,NULL,1,NULL,NULL,'manual',NULL,NULL);
CREATE INDEX ix_count_samples_camera_ts ON count_samples (camera, ts);
CREATE INDEX ix_batches_camera_closed ON batches (camera, closed_ts);
CREATE INDEX ix_label_frames_camera_ts ON label_frames (camera, ts);
CREATE INDEX ix_camera_models_camera ON camera_models (camera, id);
CREATE INDEX ix_weight_records_ts ON weight_records (ts);
CREATE INDEX ix_weight_records_batch ON weight_records (batch_id);
CREATE INDEX ix_weight_records_local_date ON weight_records (local_date);
CREATE UNIQUE INDEX ux_label_versions_frame_version ON label_versions (frame_id, version);
COMMIT;
