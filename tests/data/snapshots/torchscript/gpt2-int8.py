# --- helper (every module)

def int8_linear(self, x: Tensor, w: __torch__.torch.classes.quantized.LinearPackedParamsBase) -> Tensor:
    return quantized.linear_dynamic(x, w, True)

# --- transformer.h.0
def forward(self, x, mask_bias):
    y = torch.layer_norm(x, [self.ln_1.weight.size(0)], self.ln_1.weight, self.ln_1.bias, self.eps)
    B = y.size(0)
    T = y.size(1)
    S = y.size(1)
    A = self.num_heads * self.head_dim
    qkv = self.int8_linear(y, self.attn.c_attn.int8)
    q = qkv.narrow(2, 0, A)
    k = qkv.narrow(2, A, A)
    v = qkv.narrow(2, 2 * A, A)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) / self.scale + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = self.int8_linear(ctx, self.attn.c_proj.int8)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = x + a
    y = torch.layer_norm(x, [self.ln_2.weight.size(0)], self.ln_2.weight, self.ln_2.bias, self.eps)
    h = torch.gelu(self.int8_linear(y, self.mlp.c_fc.int8), approximate='tanh')
    h = self.int8_linear(h, self.mlp.c_proj.int8)
    h = torch.dropout(h, self.dropout_p, self.training)
    return x + h

# --- transformer.h.1
def forward(self, x, mask_bias):
    y = torch.layer_norm(x, [self.ln_1.weight.size(0)], self.ln_1.weight, self.ln_1.bias, self.eps)
    B = y.size(0)
    T = y.size(1)
    S = y.size(1)
    A = self.num_heads * self.head_dim
    qkv = self.int8_linear(y, self.attn.c_attn.int8)
    q = qkv.narrow(2, 0, A)
    k = qkv.narrow(2, A, A)
    v = qkv.narrow(2, 2 * A, A)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) / self.scale + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = self.int8_linear(ctx, self.attn.c_proj.int8)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = x + a
    y = torch.layer_norm(x, [self.ln_2.weight.size(0)], self.ln_2.weight, self.ln_2.bias, self.eps)
    h = torch.gelu(self.int8_linear(y, self.mlp.c_fc.int8), approximate='tanh')
    h = self.int8_linear(h, self.mlp.c_proj.int8)
    h = torch.dropout(h, self.dropout_p, self.training)
    return x + h

# --- root
def forward(self, input_ids, attention_mask):
    positions = torch.cumsum(torch.ones_like(input_ids), 1) - 1
    x = (torch.embedding(self.transformer.wte.weight_int8, input_ids).float() * torch.embedding(self.transformer.wte.weight_scale, input_ids))
    x = x + torch.embedding(self.transformer.wpe.weight, positions)
    x = torch.dropout(x, self.dropout_p, self.training)
    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * -3.4028234663852886e+38
    order = torch.cumsum(torch.ones_like(input_ids[0]), 0)
    future = order.unsqueeze(0) > order.unsqueeze(1)
    mask_bias = mask_bias + future.to(x.dtype) * -3.4028234663852886e+38
    x = getattr(self.transformer.h, '0').forward(x, mask_bias)
    x = getattr(self.transformer.h, '1').forward(x, mask_bias)
    x = torch.layer_norm(x, [self.transformer.ln_f.weight.size(0)], self.transformer.ln_f.weight, self.transformer.ln_f.bias, self.eps)
    index = torch.cumsum(torch.ones_like(input_ids), 1) - 1
    last = (index * input_ids.ne(50256).to(index.dtype)).argmax(-1)
    first = x.gather(1, last.view(-1, 1, 1).expand(-1, 1, x.size(2))).squeeze(1)
    logits = self.int8_linear(first, self.score.int8)
    return (logits,)

# --- root
def forward_hidden(self, input_ids, attention_mask) -> Tuple[Tensor, List[Tensor]]:
    positions = torch.cumsum(torch.ones_like(input_ids), 1) - 1
    x = (torch.embedding(self.transformer.wte.weight_int8, input_ids).float() * torch.embedding(self.transformer.wte.weight_scale, input_ids))
    x = x + torch.embedding(self.transformer.wpe.weight, positions)
    x = torch.dropout(x, self.dropout_p, self.training)
    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * -3.4028234663852886e+38
    order = torch.cumsum(torch.ones_like(input_ids[0]), 0)
    future = order.unsqueeze(0) > order.unsqueeze(1)
    mask_bias = mask_bias + future.to(x.dtype) * -3.4028234663852886e+38
    hidden = [x]
    x = getattr(self.transformer.h, '0').forward(x, mask_bias)
    hidden.append(x)
    x = getattr(self.transformer.h, '1').forward(x, mask_bias)
    hidden.append(x)
    x = torch.layer_norm(x, [self.transformer.ln_f.weight.size(0)], self.transformer.ln_f.weight, self.transformer.ln_f.bias, self.eps)
    index = torch.cumsum(torch.ones_like(input_ids), 1) - 1
    last = (index * input_ids.ne(50256).to(index.dtype)).argmax(-1)
    first = x.gather(1, last.view(-1, 1, 1).expand(-1, 1, x.size(2))).squeeze(1)
    logits = self.int8_linear(first, self.score.int8)
    return logits, hidden

