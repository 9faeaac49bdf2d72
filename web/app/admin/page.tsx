'use client';
import { RequireSession } from '@/lib/session';
import { AdminConsole } from '@/components/admin/AdminConsole';

export default function AdminPage() {
  return (
    <RequireSession>
      <AdminConsole />
    </RequireSession>
  );
}
