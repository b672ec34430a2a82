import { FalajError } from '../core/errors.js';

/** Roles within one project, weakest first. The platform owner stands above all projects. */
export const PROJECT_ROLES = ['viewer', 'editor', 'maintainer', 'admin'] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];

/**
 * The role of a token that may only call deployments (the `invoke` permission): not a project
 * role, so no route that needs one admits it.
 */
export const INVOKE_ROLE = 'invoke';
export type TokenRole = ProjectRole | typeof INVOKE_ROLE;

export function isTokenRole(value: string): value is TokenRole {
  return value === INVOKE_ROLE || isProjectRole(value);
}

export function isProjectRole(value: string): value is ProjectRole {
  return (PROJECT_ROLES as readonly string[]).includes(value);
}

export function parseRole(value: string): ProjectRole {
  if (!isProjectRole(value)) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `unknown role '${value}': one of ${PROJECT_ROLES.join(', ')}`,
    );
  }
  return value;
}

export function roleRank(role: ProjectRole): number {
  return PROJECT_ROLES.indexOf(role);
}

export function roleAtLeast(role: ProjectRole, needed: ProjectRole): boolean {
  return roleRank(role) >= roleRank(needed);
}

export function minRole(a: ProjectRole, b: ProjectRole): ProjectRole {
  return roleRank(a) <= roleRank(b) ? a : b;
}
