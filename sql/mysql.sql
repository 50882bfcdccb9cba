-- tlim schema for MySQL / MariaDB.
-- GENERATED from the migrations in src/store/sql/migrations/ by scripts/gen-sql.ts: do not edit.
-- Regenerate with `npm run sql:generate`; a test fails when this file and the migrations drift.
--
-- For DBAs who create the objects themselves instead of running `tlim migrate`. Run it once, on an
-- empty database: mysql --default-character-set=utf8mb4 <database> < sql/mysql.sql (a database created with CHARACTER SET utf8mb4 COLLATE utf8mb4_bin).
-- It ends by recording every migration in TypeORM's migrations table, so that `tlim migrate` and
-- `tlim start` then find nothing pending. `tlim migrate --print` shows what a database still needs.

-- Migration Init1795000000000
CREATE TABLE `conversations` (
    `conv_id` varchar(140) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `kind` varchar(8) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `last_seq` bigint NOT NULL DEFAULT 0,
    `created_at` bigint NOT NULL,
    `updated_at` bigint NOT NULL,
    PRIMARY KEY (`conv_id`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE `messages` (
    `conv_id` varchar(140) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `seq` bigint NOT NULL,
    `msg_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `msg_from` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `msg_to` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `msg_type` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `msg_time` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `body` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `session_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    `compress` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `encode` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `encrypt` varchar(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `version` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `created_at` bigint NOT NULL,
    `revoked` smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (`conv_id`, `seq`),
    UNIQUE INDEX `UQ_messages_from_id` (`msg_from`, `msg_id`),
    INDEX `IDX_messages_msg_id` (`msg_id`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE `user_inbox` (
    `user_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `last_seq` bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (`user_id`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE `inbox` (
    `user_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `seq` bigint NOT NULL,
    `conv_id` varchar(140) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `conv_seq` bigint NOT NULL,
    `created_at` bigint NOT NULL,
    PRIMARY KEY (`user_id`, `seq`),
    INDEX `IDX_inbox_user_conv` (`user_id`, `conv_id`, `conv_seq`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE `device_cursors` (
    `user_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `device` varchar(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `acked_seq` bigint NOT NULL DEFAULT 0,
    `updated_at` bigint NOT NULL,
    PRIMARY KEY (`user_id`, `device`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE `sessions` (
    `session_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `session_type` int NOT NULL,
    `session_name` varchar(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `session_user` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `session_pic` varchar(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    `session_valid` int NOT NULL DEFAULT 0,
    `session_create_time` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `session_modify_time` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    `session_delete_time` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    PRIMARY KEY (`session_id`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE `session_members` (
    `session_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `user_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `user_name` varchar(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `acct_login` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `pic` varchar(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    `ts` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (`session_id`, `user_id`),
    INDEX `IDX_session_members_user` (`user_id`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Migration ReadsRevokeDissolve1795000000001
CREATE TABLE IF NOT EXISTS `message_reads` (
    `author` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `msg_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `reader` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `status` smallint NOT NULL,
    `conv_id` varchar(140) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `updated_at` bigint NOT NULL,
    PRIMARY KEY (`author`, `msg_id`, `reader`),
    INDEX `IDX_message_reads_conv` (`conv_id`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
ALTER TABLE `messages` ADD COLUMN `hidden` smallint NOT NULL DEFAULT 0;

-- Migration HttpApi1795000000002
CREATE TABLE IF NOT EXISTS `users` (
    `user_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `user_name` varchar(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `acct_login` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `user_email` varchar(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    `pic_url` varchar(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    `app_push_code` varchar(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    `updated_at` bigint NOT NULL,
    PRIMARY KEY (`user_id`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `chats` (
    `user_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `peer_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `created_at` bigint NOT NULL,
    `updated_at` bigint NOT NULL,
    PRIMARY KEY (`user_id`, `peer_id`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `pubacts` (
    `id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `title` varchar(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `content` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `user_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `ts` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `session_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (`id`),
    INDEX `IDX_pubacts_session` (`session_id`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `styles` (
    `style_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `style_name` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `style_value` int NOT NULL,
    `user_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (`style_id`),
    UNIQUE INDEX `UQ_styles_user_name` (`user_id`, `style_name`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `files` (
    `file_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `file_name` varchar(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `content_type` varchar(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `size` bigint NOT NULL,
    `user_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    `created_at` bigint NOT NULL,
    PRIMARY KEY (`file_id`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO `chats` (`user_id`, `peer_id`, `created_at`, `updated_at`)
    SELECT a, b, MIN(t), MAX(t) FROM (
      SELECT msg_from AS a, msg_to AS b, created_at AS t FROM messages WHERE session_id IS NULL AND hidden = 0
      UNION ALL
      SELECT msg_to, msg_from, created_at FROM messages WHERE session_id IS NULL AND hidden = 0
    ) x GROUP BY a, b
    ON DUPLICATE KEY UPDATE `user_id` = `user_id`;
UPDATE `sessions` s
    JOIN (SELECT conv_id, MAX(created_at) AS t FROM messages WHERE session_id IS NOT NULL AND hidden = 0 GROUP BY conv_id) m
      ON m.conv_id = CONCAT('session:', s.session_id)
    SET s.session_modify_time = CAST(m.t AS CHAR)
    WHERE s.session_modify_time IS NULL;

-- Migration Delivery1795000000003
CREATE TABLE IF NOT EXISTS `online_devices` (
    `user_id` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `resource` varchar(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `via` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `updated_at` bigint NOT NULL,
    PRIMARY KEY (`user_id`, `resource`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Migration DropRetentionIndexes1795000000005
SET @tlim_sql = (SELECT IF(COUNT(*) > 0, 'ALTER TABLE `messages` DROP INDEX `IDX_messages_created`', 'DO 0') FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'messages' AND INDEX_NAME = 'IDX_messages_created');
PREPARE tlim_stmt FROM @tlim_sql;
EXECUTE tlim_stmt;
DEALLOCATE PREPARE tlim_stmt;
SET @tlim_sql = (SELECT IF(COUNT(*) > 0, 'ALTER TABLE `inbox` DROP INDEX `IDX_inbox_created`', 'DO 0') FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'inbox' AND INDEX_NAME = 'IDX_inbox_created');
PREPARE tlim_stmt FROM @tlim_sql;
EXECUTE tlim_stmt;
DEALLOCATE PREPARE tlim_stmt;

-- TypeORM's migrations table (tlim_migrations): every migration above recorded as applied, so `tlim migrate` finds nothing pending.
CREATE TABLE `tlim_migrations` (`id` int NOT NULL AUTO_INCREMENT, `timestamp` bigint NOT NULL, `name` varchar(255) NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
INSERT INTO `tlim_migrations` (`timestamp`, `name`) VALUES (1795000000000, 'Init1795000000000');
INSERT INTO `tlim_migrations` (`timestamp`, `name`) VALUES (1795000000001, 'ReadsRevokeDissolve1795000000001');
INSERT INTO `tlim_migrations` (`timestamp`, `name`) VALUES (1795000000002, 'HttpApi1795000000002');
INSERT INTO `tlim_migrations` (`timestamp`, `name`) VALUES (1795000000003, 'Delivery1795000000003');
INSERT INTO `tlim_migrations` (`timestamp`, `name`) VALUES (1795000000005, 'DropRetentionIndexes1795000000005');
