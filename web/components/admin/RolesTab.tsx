'use client';
// Roles: the list, a form to create one, and an editor for the description
// and permissions of one (with delete). The server decides what the caller
// may hand out; its refusals are shown as it words them.
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api } from '@/lib/api';
import { PERMISSIONS, PERMISSION_HELP, ROLE_NAME, errorText, loadRoles, seg, useList, type Role } from '@/lib/admin';
import { Button } from '@/components/ui/Button';
import { ConfirmDialog } from '@/components/ui/ConfirmDialog';
import { TextField } from '@/components/ui/TextField';
import { Badge } from './Badge';
import { Checkbox, EditorActions, editorClass } from './Fields';
import { ListStatus } from './ListStatus';

type Editing = { mode: 'new' } | { mode: 'edit'; role: Role } | null;

export function RolesTab() {
  const { state, reload } = useList(loadRoles);
  const [editing, setEditing] = useState<Editing>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const newButton = useRef<HTMLButtonElement>(null);

  const roles = state.items ?? [];

  const close = (message?: string) => {
    setEditing(null);
    if (message) setNotice(message);
    reload();
    // Back to where the work started, the list.
    requestAnimationFrame(() => newButton.current?.focus());
  };

  return (
    <section aria-labelledby="roles-heading">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h2 id="roles-heading" className="text-lg font-semibold text-zinc-900 dark:text-zinc-50">
          Roles
        </h2>
        <Button
          ref={newButton}
          onClick={() => {
            setNotice(null);
            setEditing({ mode: 'new' });
          }}
          disabled={editing?.mode === 'new'}
        >
          New role
        </Button>
      </div>
      <p role="status" className="mt-2 text-sm text-emerald-800 empty:hidden dark:text-emerald-300">
        {notice ?? ''}
      </p>

      {editing && (
        <RoleEditor
          key={editing.mode === 'edit' ? editing.role.name : '(new)'}
          role={editing.mode === 'edit' ? editing.role : null}
          onDone={close}
          onCancel={() => close()}
        />
      )}

      <ListStatus state={state} noun="roles" onRetry={reload} empty="No roles yet." />
      {roles.length > 0 && (
        <ul aria-label="Roles" className="mt-4 divide-y divide-zinc-200 rounded-lg border border-zinc-200 dark:divide-zinc-700 dark:border-zinc-700">
          {roles.map((r) => (
            <li key={r.name} className="flex flex-col gap-3 p-4 sm:flex-row sm:items-start sm:justify-between">
              <div className="min-w-0">
                <p className="flex flex-wrap items-center gap-2">
                  <span className="font-mono font-semibold text-zinc-900 dark:text-zinc-100">{r.name}</span>
                  {r.builtin && <Badge>Built-in</Badge>}
                </p>
                {r.description && <p className="mt-1 text-sm text-zinc-700 dark:text-zinc-300">{r.description}</p>}
                <p className="mt-2 flex flex-wrap gap-1">
                  {r.permissions.length === 0 ? (
                    <span className="text-sm text-zinc-600 dark:text-zinc-400">No permission</span>
                  ) : (
                    r.permissions.map((p) => (
                      <Badge key={p} tone="amber">
                        {p}
                      </Badge>
                    ))
                  )}
                </p>
              </div>
              <Button
                variant="secondary"
                aria-label={`Edit ${r.name}`}
                className="self-start"
                onClick={() => {
                  setNotice(null);
                  setEditing({ mode: 'edit', role: r });
                }}
              >
                Edit
              </Button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function RoleEditor({ role, onDone, onCancel }: { role: Role | null; onDone: (message: string) => void; onCancel: () => void }) {
  const isNew = role === null;
  const [name, setName] = useState('');
  const [description, setDescription] = useState(role?.description ?? '');
  const [perms, setPerms] = useState<string[]>(role?.permissions ?? []);
  const [nameError, setNameError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);
  const headingId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  // The admin role always holds every permission; the server refuses edits.
  const fixedPerms = role?.name === 'admin';

  useEffect(() => {
    heading.current?.focus();
  }, []);

  const toggle = (p: string, on: boolean) => setPerms((cur) => (on ? [...cur, p] : cur.filter((x) => x !== p)));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending) return;
    setError(null);
    const ordered = PERMISSIONS.filter((p) => perms.includes(p)) as string[];
    // Permissions this console doesn't know (a newer server) are kept.
    const unknown = perms.filter((p) => !(PERMISSIONS as readonly string[]).includes(p));
    const permissions = [...ordered, ...unknown];
    const n = name.trim();
    if (isNew) {
      if (!ROLE_NAME.test(n)) {
        setNameError('Use 1 to 64 characters: a lowercase letter first, then a-z, 0-9, _ . : or -.');
        return;
      }
      setNameError(null);
    }
    setPending(true);
    try {
      if (isNew) {
        await api<Role>('POST', '/api/v1/roles', { name: n, description: description.trim(), permissions });
        onDone(`Role ${n} created.`);
        return;
      }
      // Send only what changed, so an edit can't undo another admin's
      // change to the other field (the server applies only the fields set).
      const body: { description?: string; permissions?: string[] } = {};
      if (description.trim() !== role.description) body.description = description.trim();
      const same = permissions.length === role.permissions.length && permissions.every((p) => role.permissions.includes(p));
      if (!same) body.permissions = permissions;
      if (Object.keys(body).length === 0) {
        onDone(`Nothing changed in ${role.name}.`);
        return;
      }
      await api<Role>('PATCH', `/api/v1/roles/${seg(role.name)}`, body);
      onDone(`Role ${role.name} saved.`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setPending(false);
    }
  };

  const remove = async () => {
    if (!role || deleting) return;
    setDeleting(true);
    setDeleteError(null);
    try {
      await api<void>('DELETE', `/api/v1/roles/${seg(role.name)}`);
      setConfirming(false);
      onDone(`Role ${role.name} deleted.`);
    } catch (err) {
      setDeleteError(errorText(err));
    } finally {
      setDeleting(false);
    }
  };

  return (
    <>
      <form
        onSubmit={submit}
        aria-labelledby={headingId}
        noValidate
        className={editorClass}
      >
        <h3 id={headingId} ref={heading} tabIndex={-1} className="text-base font-semibold text-zinc-900 outline-none dark:text-zinc-50">
          {isNew ? 'New role' : `Edit role ${role.name}`}
        </h3>
        <div className="mt-4 grid gap-4">
          {isNew ? (
            <TextField
              label="Name"
              value={name}
              onChange={(e) => {
                setName(e.target.value);
                setNameError(null);
              }}
              error={nameError}
              hint={nameError ? undefined : 'Lowercase: a-z first, then a-z, 0-9, _ . : -'}
              autoComplete="off"
              spellCheck={false}
              required
              maxLength={64}
            />
          ) : null}
          <TextField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} autoComplete="off" maxLength={500} />
          <fieldset>
            <legend className="text-sm font-medium text-zinc-800 dark:text-zinc-200">Permissions</legend>
            {fixedPerms && <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">The admin role always has every permission.</p>}
            <div className="mt-2 grid gap-3 sm:grid-cols-2">
              {PERMISSIONS.map((p) => (
                <Checkbox key={p} label={p} hint={PERMISSION_HELP[p]} checked={perms.includes(p)} disabled={fixedPerms} onChange={(on) => toggle(p, on)} />
              ))}
            </div>
          </fieldset>
        </div>
        <EditorActions error={error} pending={pending} submitLabel="Save role" onCancel={onCancel}>
          {!isNew && (
            <Button
              variant="danger"
              className="sm:ml-auto"
              disabled={pending}
              onClick={() => {
                setDeleteError(null);
                setConfirming(true);
              }}
            >
              Delete role
            </Button>
          )}
        </EditorActions>
      </form>
      {!isNew && (
        <ConfirmDialog
          open={confirming}
          title={`Delete the role ${role.name}?`}
          confirmLabel="Delete"
          destructive
          pending={deleting}
          error={deleteError}
          onConfirm={remove}
          onCancel={() => setConfirming(false)}
        >
          <p>Every account holding it loses its permissions at once. This can't be undone.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
