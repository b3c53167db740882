//! Commands in a running container through the Engine API (`docker exec` without the CLI).
//! Files are written with `mkdir -p` then `cp /dev/stdin <file>`: that needs only
//! coreutils in the container (kind's docs say not to rely on node-image internals).

use super::DockerError;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

/// What a command printed and how it exited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error("`{command}` in container {container} exited with {code}: {stderr}")]
    Failed {
        container: String,
        command: String,
        code: i64,
        stderr: String,
    },
}

/// Runs `cmd` in `container`, feeding `stdin` (then closing it) when given.
pub async fn run(
    docker: &Docker,
    container: &str,
    cmd: &[&str],
    stdin: Option<&[u8]>,
) -> Result<ExecOutput, DockerError> {
    let created = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(cmd.to_vec()),
                attach_stdin: Some(stdin.is_some()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(DockerError::api("create exec"))?;
    let started = docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: None,
            }),
        )
        .await
        .map_err(DockerError::api("start exec"))?;
    let mut out = ExecOutput::default();
    if let StartExecResults::Attached {
        mut output,
        mut input,
    } = started
    {
        if let Some(bytes) = stdin {
            // Closing our side is what the engine turns into EOF on the command's stdin.
            let fed = async {
                input.write_all(bytes).await?;
                input.flush().await?;
                input.shutdown().await
            };
            fed.await.map_err(|e| DockerError::Api {
                call: "exec stdin",
                source: bollard::errors::Error::IOError { err: e },
            })?;
        }
        while let Some(chunk) = output.next().await {
            match chunk.map_err(DockerError::api("exec output"))? {
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    out.stdout.extend_from_slice(&message)
                }
                LogOutput::StdErr { message } => out.stderr.extend_from_slice(&message),
                LogOutput::StdIn { .. } => {}
            }
        }
    }
    let inspected = docker
        .inspect_exec(&created.id)
        .await
        .map_err(DockerError::api("inspect exec"))?;
    out.exit_code = inspected.exit_code.unwrap_or(-1);
    Ok(out)
}

/// Like `run`, but a non-zero exit is an error carrying the command's stderr.
pub async fn run_ok(
    docker: &Docker,
    container: &str,
    cmd: &[&str],
    stdin: Option<&[u8]>,
) -> Result<ExecOutput, ExecError> {
    let out = run(docker, container, cmd, stdin).await?;
    if out.success() {
        Ok(out)
    } else {
        Err(ExecError::Failed {
            container: container.to_string(),
            command: cmd.join(" "),
            code: out.exit_code,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// A file's content, or None when it cannot be read (missing, or no `cat`).
pub async fn read_file(
    docker: &Docker,
    container: &str,
    path: &str,
) -> Result<Option<Vec<u8>>, DockerError> {
    let out = run(docker, container, &["cat", path], None).await?;
    Ok(out.success().then_some(out.stdout))
}

/// Writes `content` to the absolute `path`, creating its directory.
pub async fn write_file(
    docker: &Docker,
    container: &str,
    path: &str,
    content: &[u8],
) -> Result<(), ExecError> {
    if let Some((dir, _)) = path.rsplit_once('/')
        && !dir.is_empty()
    {
        run_ok(docker, container, &["mkdir", "-p", dir], None).await?;
    }
    run_ok(
        docker,
        container,
        &["cp", "/dev/stdin", path],
        Some(content),
    )
    .await?;
    Ok(())
}
