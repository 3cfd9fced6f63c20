import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeAnswer, stripThink, type Verdict } from '../../../src/core/guards.ts';

// [answer text, expected verdict (undefined = a clean caption), expected caption when not failed]
type Case = [text: string, verdict: Verdict | undefined, caption?: string];

const STOP = 'stop';

// Real refusals, from the models' own wording (OpenAI, Claude, Gemini, Qwen/GLM/ERNIE/DeepSeek).
const refusals: Case[] = [
  ["I'm sorry, but I can't assist with that.", 'refused'],
  ["I'm sorry, I can't help with that.", 'refused'],
  ['I’m sorry, but I can’t help with identifying or making assumptions about people based on their facial features.', 'refused'],
  ["Sorry, I can't help with identifying people based on their facial features.", 'refused'],
  ['I apologize, but I cannot and will not describe this image.', 'refused'],
  ['I apologise, but I am unable to provide a description of this image.', 'refused'],
  ["I can't help with images of people yet.", 'refused'],
  ["I'm just a language model, so I can't help you with that.", 'refused'],
  ["I'm not able to help with that, as I'm only a language model.", 'refused'],
  ["I'm unable to identify people in images.", 'refused'],
  ['I cannot provide a caption for this image as it contains explicit content.', 'refused'],
  ["I don't feel comfortable describing this image.", 'refused'],
  ["Unfortunately, I can't describe this image.", 'refused'],
  ['As an AI, I cannot view images.', 'refused'],
  ["I don't see any image attached to your message. Could you please share it?", 'refused'],
  ["It seems the image didn't come through. Could you try uploading it again?", 'refused'],
  ["I can't view images directly.", 'refused'],
  ['I must decline to caption this picture.', 'refused'],
  ['抱歉，我无法识别图片中的人物。', 'refused'],
  ['对不起，我不能提供这方面的帮助。', 'refused'],
  ['很抱歉，我不能协助处理这个请求。', 'refused'],
  ['我无法帮助你描述这张图片。', 'refused'],
  ['作为一个人工智能语言模型，我无法查看图片。', 'refused'],
  ['我看不到任何图片，请重新上传。', 'refused'],
  ['非常抱歉，这张图片涉及敏感内容，我无法描述。', 'refused'],
];

// Captions that look like refusals at a glance: they are not.
const falsePositives: Case[] = [
  ["A sign that says I'm sorry hangs in a shop window.", undefined, "A sign that says I'm sorry hangs in a shop window."],
  ['"I\'m sorry" written in chalk on a blackboard.', undefined, '"I\'m sorry" written in chalk on a blackboard.'],
  ["Sorry, we're closed sign on a glass door at night.", undefined, "Sorry, we're closed sign on a glass door at night."],
  ['A man holding a card reading "I cannot help it".', undefined, 'A man holding a card reading "I cannot help it".'],
  [
    'Unfortunately for the goalkeeper, the ball is already in the net.',
    undefined,
    'Unfortunately for the goalkeeper, the ball is already in the net.',
  ],
  ['Sure-footed mountain goat on a rocky ledge.', undefined, 'Sure-footed mountain goat on a rocky ledge.'],
  ['Okay hand gesture in front of a blue wall.', undefined, 'Okay hand gesture in front of a blue wall.'],
  ['Here is a dog running on a beach.', undefined, 'Here is a dog running on a beach.'],
  ['The image shows a red bicycle leaning against a brick wall.', undefined, 'The image shows a red bicycle leaning against a brick wall.'],
  ['一块写着“对不起”的木牌挂在门上。', undefined, '一块写着“对不起”的木牌挂在门上。'],
  ['一只橘猫趴在窗台上晒太阳。', undefined, '一只橘猫趴在窗台上晒太阳。'],
  ['A note: the dog is wearing a red collar.', undefined, 'A note: the dog is wearing a red collar.'],
  [
    'I am sorry for the inconvenience notice taped to an elevator door.',
    undefined,
    'I am sorry for the inconvenience notice taped to an elevator door.',
  ],
  ['Time: 12:30 on a station clock.', undefined, 'Time: 12:30 on a station clock.'],
];

// Chatter around a caption: removed, the caption kept.
const chatter: Case[] = [
  ['Here is a caption for the image:\n\nA golden retriever lying on grass.', 'chatter', 'A golden retriever lying on grass.'],
  [
    "Sure! Here's a detailed description of the image: A red tram crossing a bridge at dusk.",
    'chatter',
    'A red tram crossing a bridge at dusk.',
  ],
  ['Certainly. Here is the caption: "A cat asleep on a laptop keyboard."', 'chatter', 'A cat asleep on a laptop keyboard.'],
  ['Caption: A lighthouse on a cliff above a stormy sea.', 'chatter', 'A lighthouse on a cliff above a stormy sea.'],
  ['**Caption:** A bowl of ramen with a soft-boiled egg.', 'chatter', 'A bowl of ramen with a soft-boiled egg.'],
  ["I'd be happy to describe this image. A child flying a kite on a windy beach.", 'chatter', 'A child flying a kite on a windy beach.'],
  [
    'A snowy street at night under orange lamps. Let me know if you would like a shorter version!',
    'chatter',
    'A snowy street at night under orange lamps.',
  ],
  ['A bowl of cherries on a table.\n\nI hope this helps!', 'chatter', 'A bowl of cherries on a table.'],
  [
    "I can't identify the people in this photo, but I can describe it. However, I can describe the scene: two people shaking hands in front of a podium with flags behind them.",
    'chatter',
    'two people shaking hands in front of a podium with flags behind them.',
  ],
  ['以下是这张图片的描述：一只白色的猫坐在红色的沙发上。', 'chatter', '一只白色的猫坐在红色的沙发上。'],
  ['好的，这是图片的描述：\n夜晚的城市街道，霓虹灯闪烁。', 'chatter', '夜晚的城市街道，霓虹灯闪烁。'],
  ['图片描述：一座古老的石桥横跨小河。', 'chatter', '一座古老的石桥横跨小河。'],
  ['一碗热腾腾的拉面。希望这对你有帮助！', 'chatter', '一碗热腾腾的拉面。'],
  [
    '<think>The user wants a caption. I see a dog.</think>\nA dog catching a frisbee in a park.',
    'chatter',
    'A dog catching a frisbee in a park.',
  ],
  [
    'Okay, the image has a boat in it, so I should mention the harbour.</think>A fishing boat in a small harbour.',
    'chatter',
    'A fishing boat in a small harbour.',
  ],
];

const empties: Case[] = [
  ['', 'empty'],
  ['   \n ', 'empty'],
  ['...', 'empty'],
  ['<think>I should look at the colours first, then the composition', 'empty'],
  ['<think>hmm</think>', 'empty'],
  ['Here is a caption for the image:', 'empty'],
];

for (const [text, verdict, caption] of [...refusals, ...falsePositives, ...chatter, ...empties]) {
  test(`judgeAnswer ${JSON.stringify(text).slice(0, 90)} → ${verdict ?? 'caption'}`, () => {
    const j = judgeAnswer({ text, finishReason: STOP });
    assert.equal(j.verdict, verdict);
    assert.equal(j.failed, verdict === 'refused' || verdict === 'empty' || verdict === 'truncated');
    if (caption !== undefined) assert.equal(j.text, caption);
    if (j.failed) assert.ok(j.reason, 'a failure says why');
    if (verdict === 'chatter') assert.ok(j.removed.length > 0, 'the removal is recorded');
  });
}

test('judgeAnswer: the refusal field and content_filter are refusals whatever the text', () => {
  assert.equal(judgeAnswer({ text: '', finishReason: STOP, refusal: "I'm sorry, I cannot help with that." }).verdict, 'refused');
  assert.equal(judgeAnswer({ text: 'A beach.', finishReason: 'content_filter' }).verdict, 'refused');
});

test('judgeAnswer: cut off at the token limit is truncated (length, max_tokens, MAX_TOKENS)', () => {
  assert.equal(judgeAnswer({ text: 'A long description of a harbour with boats and', finishReason: 'length' }).verdict, 'truncated');
  assert.equal(judgeAnswer({ text: 'A harbour with', finishReason: 'max_tokens' }).verdict, 'truncated');
  assert.equal(judgeAnswer({ text: 'A harbour with', finishReason: 'MAX_TOKENS' }).verdict, 'truncated');
  assert.equal(judgeAnswer({ text: 'A harbour at dawn.', finishReason: 'end_turn' }).verdict, undefined);
  assert.equal(judgeAnswer({ text: 'A harbour at dawn.', finishReason: null }).verdict, undefined);
});

test('judgeAnswer: only a think block before the limit is empty, and says to raise --max-tokens', () => {
  const j = judgeAnswer({ text: '<think>first the sky, then', finishReason: 'length' });
  assert.equal(j.verdict, 'empty');
  assert.match(j.reason ?? '', /max-tokens/);
});

test('judgeAnswer: a refusal that was cut off is a refusal', () => {
  assert.equal(judgeAnswer({ text: "I'm sorry, but I can't", finishReason: 'length' }).verdict, 'refused');
});

test('judgeAnswer with strip:false (structured answers) judges but removes nothing', () => {
  assert.equal(judgeAnswer({ text: '{"caption":"Caption: a dog"}', finishReason: STOP }, { strip: false }).verdict, undefined);
  assert.equal(
    judgeAnswer({ text: 'Here is the JSON:\n{"caption":"a dog"}', finishReason: STOP }, { strip: false }).text,
    'Here is the JSON:\n{"caption":"a dog"}',
  );
  assert.equal(judgeAnswer({ text: "I'm sorry, I can't help with that.", finishReason: STOP }, { strip: false }).verdict, 'refused');
  assert.equal(judgeAnswer({ text: '{"caption":"a do', finishReason: 'length' }, { strip: false }).verdict, 'truncated');
});

test('stripThink removes closed, unclosed and lone-closing blocks and records them', () => {
  assert.deepEqual(stripThink('<think>a</think>B'), { text: 'B', removed: ['<think>a</think>'] });
  assert.deepEqual(stripThink('<thinking>\nx\n</thinking>\n\nB'), { text: 'B', removed: ['<thinking> x </thinking>'] });
  assert.deepEqual(stripThink('A <think>never closed'), { text: 'A', removed: ['<think>never closed'] });
  assert.deepEqual(stripThink('reasoning here</think>B'), { text: 'B', removed: ['reasoning here</think>'] });
  assert.deepEqual(stripThink('no blocks'), { text: 'no blocks', removed: [] });
});
