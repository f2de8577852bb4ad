//! The Pulumi "service" secrets provider: encrypt and decrypt through a stack.
//!
//! Each stack gets a random data key on its first encryption, stored only wrapped by the
//! installation's master key and bound to the stack's id (see `stackgate-secrets`), so a
//! rename or transfer keeps every ciphertext decryptable and a ciphertext of one stack
//! never decrypts through another. Plaintexts pass through memory only: they are never
//! stored, logged or written into an audit event.

use std::sync::Arc;

use stackgate_secrets::{DataKey, MasterKey};
use stackgate_store::{Stack, StackKey};

use super::{Cache, Service};
use crate::authz::Action;
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::Ctx;
use crate::validate;

/// The most values one batch call may carry.
pub const MAX_BATCH: usize = 1000;

/// The secrets master key of this server, or why there is none.
#[derive(Clone)]
pub enum SecretsKey {
    Ready(Arc<MasterKey>),
    /// The secrets routes answer 503 with this message.
    Missing(String),
}

impl Default for SecretsKey {
    fn default() -> Self {
        SecretsKey::Missing(
            "the secrets provider is not configured: start stackgate with --secrets-key-file \
             or STACKGATE_SECRETS_KEY (every replica needs the same key)"
                .to_string(),
        )
    }
}

/// One call encrypts or decrypts at most [`MAX_BATCH`] values.
fn check_batch(values: usize) -> CoreResult<()> {
    if values > MAX_BATCH {
        return Err(CoreError::bad_request(format!(
            "at most {MAX_BATCH} values per call"
        )));
    }
    Ok(())
}

impl Service {
    /// The service with this secrets master key (or without, with the reason).
    pub fn with_secrets_key(mut self, key: SecretsKey) -> Service {
        self.secrets = key;
        self
    }

    fn master_key(&self) -> CoreResult<Arc<MasterKey>> {
        match &self.secrets {
            SecretsKey::Ready(k) => Ok(k.clone()),
            SecretsKey::Missing(why) => Err(CoreError::Unavailable(why.clone())),
        }
    }

    fn unwrap_key(&self, master: &MasterKey, stored: &StackKey) -> CoreResult<DataKey> {
        if stored.master_key_id != master.id() {
            return Err(CoreError::Unavailable(format!(
                "this stack's secrets key was wrapped by master key {}, but this server runs \
                 with master key {}: start it with the installation's master key",
                stored.master_key_id,
                master.id()
            )));
        }
        master
            .unwrap(stored.stack_id.as_str(), &stored.wrapped)
            .map_err(|_| CoreError::Internal("a stack's wrapped secrets key is damaged".into()))
    }

    /// The stack's data key; created on first use when `create` is set (else `None`).
    async fn stack_data_key(
        &self,
        ctx: &Ctx,
        org: &str,
        project: &str,
        stack: &str,
        create: bool,
    ) -> CoreResult<(Stack, Option<DataKey>)> {
        let master = self.master_key()?;
        let mut op = self.read(ctx).await?;
        let (_, found, _) = op
            .stack_guard(org, project, stack, Action::UseStackSecrets)
            .await?;
        if let Some(stored) = op.stack_key(&found.id).await? {
            let key = self.unwrap_key(&master, &stored)?;
            return Ok((found, Some(key)));
        }
        drop(op);
        if !create {
            return Ok((found, None));
        }
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (_, found, _) = op
            .stack_guard(org, project, stack, Action::UseStackSecrets)
            .await?;
        // Another request may have created it meanwhile.
        if let Some(stored) = op.stack_key(&found.id).await? {
            let key = self.unwrap_key(&master, &stored)?;
            return Ok((found, Some(key)));
        }
        let key = DataKey::generate();
        let stored = StackKey {
            stack_id: found.id.clone(),
            wrapped: master.wrap(found.id.as_str(), &key),
            master_key_id: master.id().to_string(),
            created: op.now(),
        };
        op.insert_stack_key(&stored).await?;
        op.commit().await?;
        Ok((found, Some(key)))
    }

    /// `POST S/encrypt` and `S/batch-encrypt`: ciphertexts in the order of `plaintexts`.
    pub async fn encrypt(
        &self,
        ctx: &Ctx,
        org: &str,
        project: &str,
        stack: &str,
        plaintexts: &[Vec<u8>],
    ) -> CoreResult<Vec<Vec<u8>>> {
        check_batch(plaintexts.len())?;
        let (found, key) = self.stack_data_key(ctx, org, project, stack, true).await?;
        let key = key.ok_or_else(|| CoreError::Internal("no data key after creation".into()))?;
        Ok(plaintexts
            .iter()
            .map(|p| key.encrypt(found.id.as_str(), p))
            .collect())
    }

    /// `POST S/decrypt` and `S/batch-decrypt`: plaintexts in the order of `ciphertexts`.
    /// A ciphertext that is not this stack's is a 400 that names none of the values.
    pub async fn decrypt(
        &self,
        ctx: &Ctx,
        org: &str,
        project: &str,
        stack: &str,
        ciphertexts: &[Vec<u8>],
    ) -> CoreResult<Vec<Vec<u8>>> {
        check_batch(ciphertexts.len())?;
        let (found, key) = self.stack_data_key(ctx, org, project, stack, false).await?;
        let undecryptable =
            || CoreError::bad_request("a ciphertext does not belong to this stack or is damaged");
        let Some(key) = key else {
            return if ciphertexts.is_empty() {
                Ok(Vec::new())
            } else {
                Err(undecryptable())
            };
        };
        ciphertexts
            .iter()
            .map(|c| {
                key.decrypt(found.id.as_str(), c)
                    .map_err(|_| undecryptable())
            })
            .collect()
    }

    /// `POST S/decrypt/log-decryption` and `log-batch-decryption`: the CLI tells that it
    /// shows secrets in plaintext (`--show-secrets`); audited once per command.
    pub async fn log_decryption(
        &self,
        ctx: &Ctx,
        org: &str,
        project: &str,
        stack: &str,
        command: &str,
    ) -> CoreResult<()> {
        validate::text("commandName", command, 256)?;
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (found_org, _, _) = op
            .stack_guard(org, project, stack, Action::UseStackSecrets)
            .await?;
        let what = if command.is_empty() {
            String::new()
        } else {
            format!(" by `{command}`")
        };
        let desc = format!("secrets of stack '{org}/{project}/{stack}' shown in plaintext{what}");
        op.record(&found_org.id, EventType::SecretDecrypted, desc)
            .await?;
        op.commit().await
    }

    /// Re-wraps every stack's data key under `new` (`stackgate secrets rotate-master-key`),
    /// in one transaction: a failure leaves every key as it was. Recorded as
    /// `secrets-master-key-rotated` in every org's log (the fingerprints only, never a
    /// key). Returns how many keys were re-wrapped.
    pub async fn rotate_master_key(&self, old: &MasterKey, new: &MasterKey) -> CoreResult<usize> {
        let mut tx = self.store.begin().await?;
        let keys = tx.all_stack_keys().await?;
        for stored in &keys {
            let data = self.unwrap_key(old, stored)?;
            let rewrapped = StackKey {
                wrapped: new.wrap(stored.stack_id.as_str(), &data),
                master_key_id: new.id().to_string(),
                ..stored.clone()
            };
            tx.replace_stack_key(&rewrapped).await?;
        }
        let orgs = tx.list_orgs().await?;
        let ids: Vec<&stackgate_store::OrgId> = orgs.iter().map(|o| &o.id).collect();
        super::lock_chains(&mut *tx, &ids).await?;
        let ctx = Ctx::operator("cli");
        for org in &orgs {
            let desc = format!(
                "secrets master key rotated from {} to {} ({} stack keys re-wrapped)",
                old.id(),
                new.id(),
                keys.len()
            );
            self.record(
                &mut *tx,
                &ctx,
                &org.id,
                EventType::SecretsMasterKeyRotated,
                desc,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(keys.len())
    }
}
