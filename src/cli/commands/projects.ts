import type { Command } from 'commander';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';

type ProjectRow = { name: string; description: string; role?: string; createdAt: string; createdBy: string };
type MemberRow = { username: string; role: string; since: string };

export function registerProjectCommands(program: Command): void {
  const projects = program.command('projects').description('Projects (the tenancy unit) and their members');
  const p = (name: string) => `/api/v1/projects/${encodeURIComponent(name)}`;

  remoteOptions(projects.command('list').description('Projects you can see')).action(
    action(async (client, opts) => {
      const { projects } = await client.get<{ projects: ProjectRow[] }>('/api/v1/projects');
      printResult(projects, opts, ['name', 'role', 'description', 'createdAt']);
    }),
  );
  remoteOptions(
    projects
      .command('create <name>')
      .description('Create a project (platform owner)')
      .option('-d, --description <text>', 'description'),
  ).action(
    action(async (client, opts, name: string) => {
      const body = { name, ...(opts.description ? { description: String(opts.description) } : {}) };
      printResult(await client.post<ProjectRow>('/api/v1/projects', body), opts, [
        'name',
        'description',
        'createdBy',
      ]);
    }),
  );
  remoteOptions(projects.command('show <name>').description('Show a project')).action(
    action(async (client, opts, name: string) => {
      printResult(await client.get<ProjectRow>(p(name)), opts, [
        'name',
        'role',
        'description',
        'createdAt',
        'createdBy',
      ]);
    }),
  );

  const members = projects
    .command('members')
    .description('Project members and roles (viewer < editor < maintainer < admin)');
  remoteOptions(members.command('list <project>').description('List members')).action(
    action(async (client, opts, project: string) => {
      const { members } = await client.get<{ members: MemberRow[] }>(`${p(project)}/members`);
      printResult(members, opts, ['username', 'role', 'since']);
    }),
  );
  remoteOptions(
    members.command('set <project> <username> <role>').description('Add a member or change their role'),
  ).action(
    action(async (client, opts, project: string, username: string, role: string) => {
      printResult(
        await client.put<MemberRow>(`${p(project)}/members/${encodeURIComponent(username)}`, { role }),
        opts,
        ['username', 'role'],
      );
    }),
  );
  remoteOptions(members.command('remove <project> <username>').description('Remove a member')).action(
    action(async (client, opts, project: string, username: string) => {
      await client.delete(`${p(project)}/members/${encodeURIComponent(username)}`);
      printMessage(`removed ${username} from ${project}`, opts);
    }),
  );
}
