import { preparePlan } from '../../plan/run-plan.js';
import { renderMessage, type RenderContext } from '../../templates/index.js';
import { isValidZone } from '../../core/local-time.js';
import { ExitCode, UserError } from '../exit-codes.js';
import type { RegisterCommand } from '../main.js';
import { diagnosticsReporters } from '../reporters/diagnostics.js';
import { didYouMean } from '../../diagnostics/suggest.js';
import type { ChannelType, Project } from '../../config/model.js';

/** template name, or journey/step: the (channel type, template) pairs to render. */
function targets(project: Project, ref: string): { channel: ChannelType; template: string; via: string }[] {
  if (ref.includes('/')) {
    const [journeyName, stepId] = ref.split('/');
    const journey = project.journeys.get(journeyName);
    if (!journey) throw new UserError('HER4002', `unknown journey '${journeyName}'`, ExitCode.usage, didYouMean(journeyName, project.journeys.keys()));
    const step = journey.stepsById.get(stepId);
    if (!step) throw new UserError('HER4002', `journey '${journeyName}' has no step '${stepId}'`, ExitCode.usage, didYouMean(stepId, journey.stepsById.keys()));
    const a = step.action;
    if (a.kind === 'send') return [{ channel: project.channels.get(a.channel)!.type, template: a.template, via: a.channel }];
    if (a.kind === 'cascade') return project.cascades.get(a.cascade)!.steps.map((s) => ({ channel: project.channels.get(s.channel)!.type, template: s.template, via: s.channel }));
    throw new UserError('HER4002', `step '${stepId}' of journey '${journeyName}' sends nothing (it is a ${a.kind})`, ExitCode.usage);
  }
  const tpl = project.templates.get(ref);
  if (!tpl) throw new UserError('HER4002', `unknown template '${ref}'`, ExitCode.usage, didYouMean(ref, project.templates.keys()));
  return [...tpl.variants].map((channel) => ({ channel, template: ref, via: channel }));
}

export const registerPreview: RegisterCommand = (program, ctx) => {
  program
    .command('preview')
    .description('render a template (or the message of a journey step) for one customer of the dataset')
    .argument('<target>', 'template name, or journey/step')
    .argument('[paths...]', 'configuration files or directories', ['campaigns'])
    .requiredOption('--customer <id>', 'customer id in the dataset')
    .option('--data <dir>', 'dataset directory')
    .option('--now <timestamp>', 'render as of this instant (default: the end of the dataset)')
    .action((target: string, paths: string[], flags: { customer: string; data?: string; now?: string }) => {
      const prep = preparePlan({ paths, cwd: ctx.io.cwd, data: flags.data, now: flags.now, base: false });
      if (!prep.prepared) {
        const errors = prep.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length) ctx.io.err(diagnosticsReporters.text({ diagnostics: errors, files: 0, cwd: ctx.io.cwd, strict: false }));
        const f = prep.failure!;
        throw new UserError(f.code, f.message, f.kind === 'usage' ? ExitCode.usage : ExitCode.invalid);
      }
      const { head, dataset } = prep.prepared;
      const at = flags.now ? prep.prepared.now : (dataset.timeRange?.last ?? prep.prepared.now);
      const customer = dataset.customerIndex(flags.customer);
      if (customer < 0) throw new UserError('HER5031', `no customer '${flags.customer}' in the dataset`, ExitCode.usage);
      const profile = dataset.profile(customer);
      const zone = profile[head.settings.timezoneAttribute];
      const ltvTable = head.model.rfm ? dataset.eventTable(head.model.rfm.monetary.event) : undefined;
      let ltv: number | null = null;
      if (ltvTable && head.model.rfm) {
        ltv = dataset.recentEvents(customer, head.model.rfm.monetary.event, Number.MAX_SAFE_INTEGER, at).reduce((a, e) => a + Number(e.props[head.model.rfm!.monetary.prop] ?? 0), 0);
      }
      const id = dataset.customerId(customer);
      const rc: RenderContext = {
        profile,
        customerId: id,
        now: at,
        timezone: isValidZone(zone) ? zone : head.settings.timezone,
        currency: head.settings.currency,
        locale: head.settings.locale,
        derived: { ltv },
        recentEvents: (type, n) => dataset.recentEvents(customer, type, n, at).map((e) => ({ ts: e.ts, props: e.props })),
        product: (pid) => dataset.product(pid) as unknown as Record<string, unknown> | undefined,
      };
      if (head.settings.links.unsubscribe) rc.unsubscribeUrl = `${head.settings.links.unsubscribe}/${encodeURIComponent(id)}`;
      if (head.settings.links.preferences) rc.preferencesUrl = `${head.settings.links.preferences}/${encodeURIComponent(id)}`;
      // A step of a journey entered by an event sees that customer's latest such event as `event`.
      if (target.includes('/')) {
        const j = head.journeys.get(target.split('/')[0]);
        if (j?.entry.kind === 'event') {
          const last = dataset.recentEvents(customer, j.entry.event, 1, at)[0];
          if (last) rc.event = last.props;
        }
      }
      let out = '';
      for (const t of targets(head, target)) {
        const tpl = head.templates.get(t.template)!;
        const m = renderMessage(tpl.compiled, t.channel, rc);
        out += `── ${t.template} via ${t.via} (${t.channel}) for ${id}\n`;
        switch (m.channel) {
          case 'email':
            out += `Subject: ${m.subject}\n`;
            if (m.text !== undefined) out += `\n${m.text}\n`;
            if (m.html !== undefined) out += `\n--- html ---\n${m.html}\n`;
            break;
          case 'push':
            out += `${m.title}\n${m.body}\n`;
            break;
          case 'sms':
            out += `${m.text}\n(${m.segments} segment${m.segments === 1 ? '' : 's'}, ${m.encoding}, ${m.units} units)\n`;
            break;
          case 'webhook':
            out += `${JSON.stringify(m.body, null, 2)}\n`;
            break;
        }
        out += '\n';
      }
      ctx.io.out(out);
      ctx.setExit(ExitCode.ok);
    });
};
