/** Background-task routes: instance task list, progress, the seed delete, task centre, jobs. */
import type { FastifyPluginAsync } from 'fastify';
import type { TaskService } from '../../tasks/service.js';
import { taskWindow } from '../query.js';
import { centreTaskView, jobView, progressView, taskView } from '../views.js';
import { CENTRE_TASK, DELETE_RESULT, TASK, TASK_WINDOW_QUERY, complete, pathParams, responses, READS, CHANGES } from '../schemas.js';

type P = { project_id: string; instance_id: string; task_id: string; job_id: string };
type Q = Record<string, string | undefined>;

/** Both deletes take an optional reason, kept in the deletion's audit record (api.md). */
const DELETE_BODY = {
  type: ['object', 'null'],
  properties: { message: { type: 'string', maxLength: 1024 } },
} as const;

export const taskRoutes: FastifyPluginAsync<{ tasks: TaskService }> = async (app, { tasks }) => {
  app.get<{ Params: P; Querystring: Q }>('/instances/:instance_id/tasks', {
    config: READS,
    schema: {
      summary: 'List the background tasks of an instance', operationId: 'ListBackgroundTask', tags: ['tasks'],
      params: pathParams('project_id', 'instance_id'), querystring: TASK_WINDOW_QUERY,
      response: responses({ 200: complete({ type: 'object', properties: { task_count: { type: 'string' }, tasks: { type: 'array', items: TASK } } }) }),
    },
  }, async (req) => {
    const { total, tasks: list } = await tasks.list(req.params.project_id, req.params.instance_id, taskWindow(req.query));
    return { task_count: String(total), tasks: list.map(taskView) };
  });

  app.get<{ Params: P }>('/instances/:instance_id/tasks/:task_id/progress', {
    config: READS,
    schema: {
      summary: 'Show the progress of a background task', operationId: 'ShowBackgroundTaskProgress', tags: ['tasks'],
      params: pathParams('project_id', 'instance_id', 'task_id'),
      response: responses({
        200: complete({
          type: 'object',
          properties: {
            progress: { type: 'integer' }, remain_time: { type: 'integer' },
            step_details: {
              type: 'array',
              items: complete({
                type: 'object',
                properties: {
                  step_id: { type: 'string' }, step_name: { type: 'string' },
                  step_status: { type: 'string', enum: ['WAITING', 'EXECUTING', 'FINISH', 'FAILED'] },
                  begin_time: { type: ['string', 'null'] }, end_time: { type: ['string', 'null'] }, error_code: { type: ['string', 'null'] },
                  sub_step_details: { type: 'array', items: { type: 'object' } },
                },
              }),
            },
          },
        }),
      }),
    },
  }, async (req) => {
    const t = await tasks.get(req.params.project_id, req.params.task_id, req.params.instance_id);
    const p = await tasks.progress(t);
    return progressView(t, p.progress, p.remainTime);
  });

  app.delete<{ Params: P; Body: { message?: string } | undefined }>('/instances/:instance_id/tasks/:task_id', {
    config: CHANGES,
    schema: {
      summary: 'Delete a background task', description: 'Only finished tasks (SUCCESS, FAILED) can be deleted.', operationId: 'DeleteBackgroundTask', tags: ['tasks'],
      params: pathParams('project_id', 'instance_id', 'task_id'), body: DELETE_BODY,
      response: responses({ 200: DELETE_RESULT }),
    },
  }, async (req) => {
    await tasks.delete(req.params.project_id, req.params.task_id, req.params.instance_id, req.caller, req.body?.message ?? null);
    return { message: '' };
  });

  app.get<{ Params: P; Querystring: Q }>('/tasks', {
    config: READS,
    schema: {
      summary: 'Task centre: every background task of the project', operationId: 'ListTaskCenterTasks', tags: ['task centre'],
      params: pathParams('project_id'), querystring: TASK_WINDOW_QUERY,
      response: responses({ 200: complete({ type: 'object', properties: { task_count: { type: 'string' }, tasks: { type: 'array', items: CENTRE_TASK } } }) }),
    },
  }, async (req) => {
    const { total, tasks: list } = await tasks.list(req.params.project_id, undefined, taskWindow(req.query));
    return { task_count: String(total), tasks: list.map(centreTaskView) };
  });

  app.delete<{ Params: P; Body: { message?: string } | undefined }>('/tasks/:task_id', {
    config: CHANGES,
    schema: {
      summary: 'Task centre: delete a background task', operationId: 'DeleteTaskCenterTask', tags: ['task centre'],
      params: pathParams('project_id', 'task_id'), body: DELETE_BODY,
      response: responses({ 200: DELETE_RESULT }),
    },
  }, async (req) => {
    await tasks.delete(req.params.project_id, req.params.task_id, null, req.caller, req.body?.message ?? null);
    return { message: '' };
  });

  app.get<{ Params: P }>('/jobs/:job_id', {
    config: READS,
    schema: {
      summary: 'Look up a job (a task) by id', operationId: 'ShowJobInfo', tags: ['task centre'],
      params: pathParams('project_id', 'job_id'),
      response: responses({
        200: complete({
          type: 'object',
          properties: {
            job_id: { type: 'string' }, job_type: { type: 'string' }, status: { type: 'string', enum: ['INIT', 'RUNNING', 'SUCCESS', 'FAIL'] },
            begin_time: { type: 'string' }, end_time: { type: ['string', 'null'] }, fail_reason: { type: ['string', 'null'] },
          },
        }),
      }),
    },
  }, async (req) => {
    return jobView(await tasks.job(req.params.project_id, req.params.job_id));
  });
};
